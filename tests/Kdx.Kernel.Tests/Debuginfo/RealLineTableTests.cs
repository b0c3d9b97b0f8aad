// The line-table reader on the lab kernel's real -dbg vmlinux (gcc 12, DWARF 5) and on the lab's
// crashtest.ko (relocatable, DWARF 5), against host binutils' addr2line on the same files.
using System.Globalization;
using Kdx.Kernel.Debuginfo;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Debuginfo;

public sealed class RealLineTableTests
{
    /// <summary>addr2line -e FILE [-j SECTION] ADDR...: one "file:line" (maybe with " (discriminator N)") per address.</summary>
    public static IReadOnlyList<string> Addr2Line(string file, IEnumerable<ulong> addresses, string? section = null)
    {
        var args = new List<string> { "-e", file };
        if (section is not null)
            args.AddRange(["-j", section]);
        args.AddRange(addresses.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture)));
        var r = Kdx.Lab.Sh.Try(Oracles.Require("addr2line"), args, timeout: TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(StripDiscriminator)];
    }

    public static string StripDiscriminator(string line)
    {
        var i = line.IndexOf(" (discriminator", StringComparison.Ordinal);
        return i < 0 ? line : line[..i];
    }

    [Fact]
    public void Vmlinux_lines_match_addr2line_on_sampled_functions()
    {
        using var file = DebugElf.Open(Oracles.DebugVmlinux);
        var lines = file.Lines!;
        // Text symbols from the real System.map, spread over the whole image, at a few offsets each.
        var text = File.ReadLines(Oracles.SystemMap)
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 3 && p[1] is "T" or "t")
            .Select(p => ulong.Parse(p[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture))
            .ToArray();
        var addresses = new List<ulong>();
        for (var i = 0; i < text.Length; i += text.Length / 150)
            foreach (var off in (ulong[])[0, 5, 0x17, 0x40])
                addresses.Add(text[i] + off);
        var expected = Addr2Line(file.Path, addresses);
        Assert.Equal(addresses.Count, expected.Count);
        var compared = 0;
        var wrong = new List<string>();
        for (var i = 0; i < addresses.Count; i++)
        {
            var got = lines.Lookup(addresses[i]);
            var want = expected[i];
            if (want.StartsWith("??", StringComparison.Ordinal))
            {
                Assert.True(got is null || got.Line == 0, $"0x{addresses[i]:x}: addr2line has no line, kdx says {got}");
                continue;
            }
            if (got?.ToString() != want)
                wrong.Add($"0x{addresses[i]:x}: addr2line {want}, kdx {got?.ToString() ?? "(none)"}");
            compared++;
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {compared} differ:\n{string.Join('\n', wrong.Take(8))}");
        Assert.True(compared > 400, $"only {compared} addresses had lines");
    }

    [Fact]
    public void Crashtest_module_lines_match_addr2line_per_section()
    {
        var ko = Kdx.Lab.GuestBinaries.CrashTestModule(Oracles.Release);
        using var file = DebugElf.Open(ko);
        Assert.True(file.IsRelocatable);
        var lines = file.Lines!;
        var compared = 0;
        foreach (var name in (string[])[".text", ".text.unlikely", ".init.text", ".exit.text"])
        {
            var index = file.SectionIndex(name);
            if (index < 0)
                continue;
            var size = file.Sections[index].Size;
            var offsets = Enumerable.Range(0, (int)Math.Min(size, 64)).Select(i => (ulong)i * Math.Max(size / 64, 1)).Where(o => o < size).ToArray();
            var expected = Addr2Line(ko, offsets, name);
            for (var i = 0; i < offsets.Length; i++)
            {
                var got = lines.Lookup(file.SectionBase(index) + offsets[i]);
                if (expected[i].StartsWith("??", StringComparison.Ordinal))
                    continue;
                Assert.True(got is not null, $"{name}+0x{offsets[i]:x}: addr2line says {expected[i]}, kdx has no line");
                Assert.Equal(expected[i], got!.ToString());
                compared++;
            }
        }
        Assert.True(compared >= 20, $"only {compared} module addresses had lines");
    }

    [Theory]
    [InlineData("zlib-gabi")]
    [InlineData("zstd")]
    public void Compressed_debug_sections_give_the_same_lines(string method)
    {
        var ko = Kdx.Lab.GuestBinaries.CrashTestModule(Oracles.Release);
        var compressed = Path.Combine(Path.GetTempPath(), $"kdx-crashtest-{method}-{Environment.ProcessId}.ko");
        try
        {
            var r = Kdx.Lab.Sh.Try(Oracles.Require("objcopy"), [$"--compress-debug-sections={method}", ko, compressed]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var plain = DebugElf.Open(ko);
            using var packed = DebugElf.Open(compressed);
            var line = packed.Sections[packed.SectionIndex(".debug_line")];
            Assert.NotEqual(0UL, line.Flags & 0x800); // SHF_COMPRESSED
            var text = packed.SectionIndex(".text");
            var offsets = Enumerable.Range(0, (int)packed.Sections[text].Size).Select(i => (ulong)i).ToArray();
            var expected = Addr2Line(compressed, offsets, ".text");
            var same = 0;
            foreach (var off in offsets)
            {
                var want = plain.Lines!.Lookup(plain.SectionBase(text) + off)?.ToString();
                Assert.Equal(want, packed.Lines!.Lookup(packed.SectionBase(text) + off)?.ToString());
                if (want is not null)
                {
                    Assert.Equal(expected[(int)off], want);
                    same++;
                }
            }
            Assert.True(same > 20, $"{same} lines");
        }
        finally
        {
            File.Delete(compressed);
        }
    }
}
