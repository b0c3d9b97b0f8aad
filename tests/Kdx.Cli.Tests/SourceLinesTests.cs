// `bt -l`, `sym -l` and `dis -l` on real lab dumps (KASLR on) with the matching -dbg vmlinux and the
// lab's crashtest.ko, against host binutils' addr2line on the same files. addr2line gets link-time
// addresses computed here independently of kdx's debuginfo code: runtime ip (minus one for a return
// address) minus the dump's KERNELOFFSET for vmlinux; for a module frame, the function's section
// and value from `readelf -sW` of the .ko plus the frame's offset, looked up with `addr2line -j SECTION`.
using System.Globalization;
using System.Text.Json;
using Kdx.Dump;
using Kdx.Lab;
using Xunit.Abstractions;

namespace Kdx.Cli.Tests;

public sealed class SourceLinesTests(ITestOutputHelper output)
{
    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    private static string Release => Kdx.Kernel.Tests.Support.Oracles.Release;
    private static string Vmlinux => Kdx.Kernel.Tests.Support.Oracles.DebugVmlinux;
    private static string CrashtestKo => GuestBinaries.CrashTestModule(Release);
    private static string DebugDir => Path.GetDirectoryName(CrashtestKo)!;

    private static readonly (string Name, Func<Scenario> Scenario, string Capture)[] Scenarios =
    [
        ("sysrq-kdump", LabCatalog.SysrqKdump, "kdump-mdf-l-d31"),
        ("nmi-qemu", LabCatalog.NmiQemu, "qemu-elf"),
        ("oops", () => LabCatalog.Kind(CrashKind.Oops), "qemu-kdump-zlib"),
        ("bug", () => LabCatalog.Kind(CrashKind.Bug), "qemu-kdump-zlib"),
        ("softlockup", () => LabCatalog.Kind(CrashKind.Softlockup), "qemu-kdump-zlib"),
    ];

    private static string[] Addr2Line(string file, IEnumerable<ulong> addresses, string? section = null)
    {
        var args = new List<string> { "-e", file };
        if (section is not null)
            args.AddRange(["-j", section]);
        args.AddRange(addresses.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture)));
        var r = Sh.Try("addr2line", args, timeout: TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(" (discriminator")[0])];
    }

    /// <summary>FUNCTION -> (section name, value) from `readelf -sW` and `readelf -SW` of a relocatable .ko.</summary>
    private static Dictionary<string, (string Section, ulong Value)> KoFunctions(string ko)
    {
        var sections = new Dictionary<int, string>();
        foreach (var line in Sh.Run("readelf", "-SW", ko).Split('\n'))
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^\s*\[\s*(\d+)\]\s+(\S+)");
            if (m.Success)
                sections[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = m.Groups[2].Value;
        }
        var functions = new Dictionary<string, (string, ulong)>();
        foreach (var line in Sh.Run("readelf", "-sW", ko).Split('\n'))
        {
            var p = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (p.Length == 8 && p[3] == "FUNC" && int.TryParse(p[6], CultureInfo.InvariantCulture, out var ndx))
                functions.TryAdd(p[7], (sections[ndx], ulong.Parse(p[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        return functions;
    }

    private sealed record Frame(string Scenario, string Function, string? Module, ulong Ip, ulong Offset, bool Exact, string? File, uint? Line);

    /// <summary>Every frame of `bt -a -l --json`, with whether its ip is exact (first frame of a running task, or entered from pt_regs).</summary>
    private static List<Frame> Frames(string scenario, string[] dump)
    {
        var (code, json, err) = Run(["bt", "-a", "-l", "--json", .. dump, "--vmlinux", Vmlinux, "--debug-dir", DebugDir]);
        Assert.True(code == 0, err);
        var frames = new List<Frame>();
        foreach (var trace in JsonDocument.Parse(json).RootElement.EnumerateArray())
        {
            var exact = trace.GetProperty("active").GetBoolean();
            foreach (var f in trace.GetProperty("frames").EnumerateArray())
            {
                if (f.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.String)
                    frames.Add(new Frame(scenario, fn.GetString()!,
                        f.TryGetProperty("module", out var m) ? m.GetString() : null,
                        ulong.Parse(f.GetProperty("ip").GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                        f.GetProperty("offset").GetUInt64(), exact,
                        f.TryGetProperty("file", out var file) ? file.GetString() : null,
                        f.TryGetProperty("line", out var line) ? line.GetUInt32() : null));
                exact = f.TryGetProperty("regs", out _);
            }
        }
        return frames;
    }

    [Fact]
    public void Bt_l_frames_match_addr2line_on_vmlinux_and_crashtest_ko()
    {
        var ko = KoFunctions(CrashtestKo);
        var compared = new List<string>();
        var moduleFrames = 0;
        foreach (var (name, scenario, capture) in Scenarios)
        {
            var lab = LabCatalog.Build(scenario());
            Assert.True(lab.Metadata.Kaslr);
            var dump = lab.Files(capture).ToArray();
            ulong kernelOffset;
            using (var d = DumpFile.Open(dump))
                kernelOffset = d.VmcoreInfo!.KernelOffset;
            Assert.NotEqual(0UL, kernelOffset);
            var frames = Frames(name, dump);
            var vmlinux = frames.Where(f => f.Module is null).ToList();
            var expected = Addr2Line(Vmlinux, vmlinux.Select(f => (f.Exact ? f.Ip : f.Ip - 1) - kernelOffset));
            for (var i = 0; i < vmlinux.Count; i++)
            {
                var f = vmlinux[i];
                Assert.False(expected[i].StartsWith("??", StringComparison.Ordinal), $"{name} {f.Function}: addr2line has no line");
                Assert.Equal(expected[i], $"{f.File}:{f.Line}");
                compared.Add($"{name} {f.Function}+{f.Offset} {f.File}:{f.Line}");
            }
            foreach (var f in frames.Where(f => f.Module == "crashtest"))
            {
                var (section, value) = ko[f.Function];
                var want = Addr2Line(CrashtestKo, [value + f.Offset - (f.Exact ? 0UL : 1UL)], section).Single();
                Assert.Equal(want, $"{f.File}:{f.Line}");
                compared.Add($"{name} [crashtest] {f.Function}+{f.Offset} {f.File}:{f.Line}");
                moduleFrames++;
            }
        }
        output.WriteLine($"{compared.Count} frames compared with addr2line:\n{string.Join('\n', compared)}");
        Assert.True(compared.Count >= 20, $"only {compared.Count} frames compared:\n{string.Join('\n', compared)}");
        Assert.True(moduleFrames >= 2, $"only {moduleFrames} crashtest frames:\n{string.Join('\n', compared)}");
    }

    [Fact]
    public void Bt_l_text_puts_each_frames_line_under_it_like_crash()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var (code, text, err) = Run(["bt", "-l", .. dump, "--vmlinux", Vmlinux, "--debug-dir", DebugDir]);
        Assert.True(code == 0, err);
        var lines = text.Split('\n');
        var frameLines = lines.Select((l, i) => (l, i)).Where(p => System.Text.RegularExpressions.Regex.IsMatch(p.l, @"^\s*#\d+ \[")).ToList();
        Assert.NotEmpty(frameLines);
        foreach (var (l, i) in frameLines)
            Assert.Matches(@"^    \S+\.[chS]: \d+$", lines[i + 1]);
        Assert.Contains(lines, l => l.StartsWith("    ", StringComparison.Ordinal) && l.Contains("crashtest.c: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Sym_l_gives_addr2lines_line_for_symbol_plus_offset_and_module_address()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var frames = Frames("oops", dump);
        ulong kernelOffset;
        using (var d = DumpFile.Open(dump))
            kernelOffset = d.VmcoreInfo!.KernelOffset;
        var checkedFrames = 0;
        foreach (var f in frames.Where(f => f.Module is null).Take(8))
        {
            var (code, text, err) = Run(["sym", "-l", .. dump, $"{f.Function}+0x{f.Offset:x}", "--vmlinux", Vmlinux]);
            Assert.True(code == 0, err);
            var want = Addr2Line(Vmlinux, [f.Ip - kernelOffset]).Single();
            var colon = want.LastIndexOf(':');
            Assert.Contains($"  {want[..colon]}: {want[(colon + 1)..]}", text, StringComparison.Ordinal);
            checkedFrames++;
        }
        var module = frames.First(f => f.Module == "crashtest");
        var (section, value) = KoFunctions(CrashtestKo)[module.Function];
        var (c2, t2, e2) = Run(["sym", "-l", .. dump, $"0x{module.Ip:x}", "--vmlinux", Vmlinux, "--debug-dir", DebugDir]);
        Assert.True(c2 == 0, e2);
        Assert.Contains("[crashtest]", t2, StringComparison.Ordinal);
        var w2 = Addr2Line(CrashtestKo, [value + module.Offset], section).Single();
        var c = w2.LastIndexOf(':');
        Assert.Contains($"  {w2[..c]}: {w2[(c + 1)..]}", t2, StringComparison.Ordinal);
        Assert.Equal(8, checkedFrames);
    }

    [Fact]
    public void Sym_l_with_source_prints_the_lines_around_the_position()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var (code, text, err) = Run(["sym", "-l", .. dump, "panic+0x10", "--vmlinux", Vmlinux]);
        Assert.True(code == 0, err);
        var position = text.Split('\n')[1].Trim(); // "FILE: LINE"
        var sep = position.LastIndexOf(": ", StringComparison.Ordinal);
        var file = position[..sep];
        var line = int.Parse(position[(sep + 2)..], CultureInfo.InvariantCulture);
        // A source tree where only the tail of the build path exists (kernel/panic.c), each line saying its number.
        var tree = Directory.CreateTempSubdirectory("kdx-src-");
        try
        {
            var tail = file[(file.IndexOf("kernel/", StringComparison.Ordinal))..];
            var path = Path.Combine(tree.FullName, tail);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllLines(path, Enumerable.Range(1, line + 50).Select(n => $"source line {n}"));
            var (c2, t2, e2) = Run(["sym", "-l", .. dump, "panic+0x10", "--vmlinux", Vmlinux, "--source", tree.FullName]);
            Assert.True(c2 == 0, e2);
            Assert.Contains($">{line,5}\tsource line {line}", t2, StringComparison.Ordinal);
            Assert.Contains($" {line - 4,5}\tsource line {line - 4}", t2, StringComparison.Ordinal);
            Assert.Contains($" {line + 5,5}\tsource line {line + 5}", t2, StringComparison.Ordinal);
            Assert.DoesNotContain($"source line {line + 6}\n", t2, StringComparison.Ordinal);
        }
        finally
        {
            tree.Delete(true);
        }
    }

    [Fact]
    public void Dis_l_interleaves_file_line_headers_matching_addr2line()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var (code, text, err) = Run(["dis", "-l", .. dump, "panic", "-c", "40", "--vmlinux", Vmlinux]);
        Assert.True(code == 0, err);
        ulong kernelOffset;
        using (var d = DumpFile.Open(dump))
            kernelOffset = d.VmcoreInfo!.KernelOffset;
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var headers = 0;
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith("0x", StringComparison.Ordinal))
                continue;
            // A "FILE: LINE" header: the next instruction's address must be at that line.
            var ip = ulong.Parse(lines[i + 1][2..18], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var want = Addr2Line(Vmlinux, [ip - kernelOffset]).Single();
            var c = want.LastIndexOf(':');
            Assert.Equal($"{want[..c]}: {want[(c + 1)..]}", lines[i]);
            headers++;
        }
        Assert.True(headers >= 3, text);
        Assert.Equal(40, lines.Count(l => l.StartsWith("0x", StringComparison.Ordinal)));
    }

    [Fact]
    public void L_without_debuginfo_says_so_once_and_prints_the_backtrace()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var (code, text, err) = Run(["bt", "-a", "-l", .. dump]);
        Assert.True(code == 0, err);
        Assert.Equal(1, text.Split('\n').Count(l => l.Contains("source lines need --vmlinux", StringComparison.Ordinal)));
        Assert.Contains(" panic at ", text, StringComparison.Ordinal);
        var (plainCode, plain, _) = Run(["bt", "-a", .. dump]);
        Assert.Equal(0, plainCode);
        Assert.Equal(plain, string.Join('\n', text.Split('\n').Where(l => !l.Contains("source lines need", StringComparison.Ordinal))));
    }

    [Fact]
    public void A_truncated_vmlinux_is_one_error_line_and_exit_2()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var bad = Path.Combine(Path.GetTempPath(), $"kdx-vmlinux-truncated-{Environment.ProcessId}");
        try
        {
            using (var src = File.OpenRead(Vmlinux))
            using (var dst = File.Create(bad))
            {
                var head = new byte[1 << 20];
                src.ReadExactly(head);
                dst.Write(head);
            }
            var (code, _, err) = Run(["bt", "-l", .. dump, "--vmlinux", bad]);
            Assert.Equal(2, code);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(bad, err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public void A_vmlinux_of_another_build_is_refused_by_build_id()
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib").ToArray();
        var other = Kdx.Lab.Oracles.EnsureDebugFiles(LabCatalog.OlderAbi).Vmlinux;
        var (code, text, err) = Run(["bt", "-l", .. dump, "--vmlinux", other]);
        Assert.Equal(1, code);
        Assert.Contains("build id", err, StringComparison.Ordinal);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(text); // refused before any frame is printed
    }
}
