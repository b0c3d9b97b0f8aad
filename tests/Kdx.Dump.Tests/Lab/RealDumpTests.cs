// Real dumps from the crash lab (Debian 6.1 guests crashed under QEMU): every capture of one crash
// must describe the same machine and hold the same bytes, and agree with crash's own `sys`.
using System.Globalization;
using System.Text.RegularExpressions;
using Kdx.Dump.Compression;
using Kdx.Lab;

namespace Kdx.Dump.Tests.Lab;

[Trait("Category", "Lab")]
public class RealDumpTests
{
    [Fact]
    public void Makedumpfile_captures_agree_page_by_page()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        using var lzo = DumpFile.Open(lab.Dump("kdump-mdf-l-d31"));
        using var zlib = DumpFile.Open(lab.Dump("kdump-mdf-c-d31"));
        using var flat = DumpFile.Open(lab.Dump("kdump-mdf-F-l-d31"));
        using var split = DumpFile.Open([.. lab.Files("kdump-mdf-split-l-d31")]);
        using var level1 = DumpFile.Open(lab.Dump("kdump-mdf-c-d1"));

        Assert.Equal(("lzo", 31, false), (lzo.Compression, lzo.DumpLevel, lzo.IsFlattened));
        Assert.Equal(("zlib", 31), (zlib.Compression, zlib.DumpLevel));
        Assert.Equal(("lzo", true), (flat.Compression, flat.IsFlattened));
        Assert.Contains("split into 3 files", split.FormatDescription);
        Assert.Equal(("zlib", 1), (level1.Compression, level1.DumpLevel));
        foreach (var d in new[] { lzo, zlib, flat, split, level1 })
        {
            Assert.False(d.IsIncomplete);
            Assert.Equal(lzo.MaxPfn, d.MaxPfn);
            Assert.Equal(lab.Metadata.Kernel, d.VmcoreInfo!.OsRelease);
        }

        var a = new byte[4096];
        var b = new byte[4096];
        ulong readable = 0;
        for (ulong pfn = 0; pfn < lzo.MaxPfn; pfn++)
        {
            var state = lzo.GetPageState(pfn);
            Assert.Equal(state, zlib.GetPageState(pfn));
            Assert.Equal(state, flat.GetPageState(pfn));
            Assert.Equal(state, split.GetPageState(pfn));
            if (!state.IsReadable())
                continue;
            readable++;
            lzo.Read(pfn * 4096, a);
            foreach (var other in new[] { zlib, flat, split, level1 })
            {
                other.Read(pfn * 4096, b);
                Assert.True(a.AsSpan().SequenceEqual(b), $"pfn 0x{pfn:x} differs in {other.FormatDescription}");
            }
        }
        Assert.True(readable > 10000, $"only {readable} readable pages");
        // Level 1 drops only zero pages: it keeps far more than level 31.
        var c1 = level1.CountPages();
        var c31 = lzo.CountPages();
        Assert.Equal(0UL, c1.Excluded);
        Assert.True(c1.Present > c31.Present);
        Assert.Equal(c31.Present + c31.Zero + c31.Excluded, c1.Present + c1.Zero);
    }

    public static TheoryData<string, string> Captures => new()
    {
        { "kdump", "kdump-mdf-l-d31" },
        { "kdump", "kdump-mdf-c-d31" },
        { "kdump", "kdump-mdf-c-d1" },
        { "kdump", "kdump-mdf-F-l-d31" },
        { "kdump", "kdump-mdf-split-l-d31" },
        { "kdump-l-d1", "kdump-mdf-l-d1" },
        { "qemu", "qemu-elf" },
        { "qemu", "qemu-kdump-zlib" },
    };

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_stored_page_of_every_capture_reads_back_whole(string scenario, string capture)
    {
        var lab = LabCatalog.Build(scenario switch
        {
            "kdump" => LabCatalog.SysrqKdump(),
            "kdump-l-d1" => LabCatalog.SysrqKdumpLzoLevel1(),
            _ => LabCatalog.SysrqQemu(),
        });
        using var dump = DumpFile.Open([.. lab.Files(capture)]);
        var r = PageScanner.Scan(dump, new PageScanOptions { Threads = 2 });
        Assert.True(r.IsIntact, $"{r.Damaged} damaged, {r.Lost} lost; first: {r.DamagedPages.FirstOrDefault()}");
        var c = dump.CountPages();
        Assert.Equal((c.Present, c.Excluded, c.Hole), (r.Pages, r.Excluded, r.Holes));
        Assert.Equal(c.Zero ?? 0, r.ZeroPages);
        Assert.True(r.Pages > 10000, $"only {r.Pages} pages");
        Assert.Equal(r.Pages * 4096, r.PageBytes);
    }

    [Fact]
    public void Makedumpfile_capture_agrees_with_crash_sys()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        using var dump = DumpFile.Open(lab.Dump("kdump-mdf-l-d31"));
        var sys = File.ReadAllText(Path.Combine(lab.Directory, "oracle", "crash-sys.txt"));
        Assert.Equal(int.Parse(Field(sys, "CPUS"), CultureInfo.InvariantCulture), dump.Cpus.Count);
        Assert.Equal(Field(sys, "RELEASE"), dump.VmcoreInfo!.OsRelease);
        // crash prints DATE from the same CRASHTIME, as "Mon Nov 23 03:00:25 UTC 2026".
        var date = DateTimeOffset.FromUnixTimeSeconds(dump.VmcoreInfo.CrashTime!.Value).UtcDateTime;
        var expected = Regex.Replace(Field(sys, "DATE"), @"\s+", " ");
        Assert.Equal(expected, date.ToString("ddd MMM d HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture));
        // Each CPU's saved registers are kernel-mode state (cs = __KERNEL_CS).
        Assert.All(dump.Cpus, c => Assert.Equal(0x10UL, c.Cs));
    }

    [Fact]
    public void Qemu_elf_kdump_zlib_and_kdx_zstd_hold_the_same_memory()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqQemu());
        using var elf = DumpFile.Open(lab.Dump("qemu-elf"));
        using var kdump = DumpFile.Open(lab.Dump("qemu-kdump-zlib"));
        // No lab producer writes zstd (Debian 12's QEMU and makedumpfile 1.7.2 cannot): kdx capture
        // -z -d 31 writes it here from QEMU's ELF of the same crash.
        var zstdPath = Path.Combine(Directory.CreateTempSubdirectory("kdx-zstd-").FullName, "qemu-elf.kdx-z-d31");
        using (var source = Kdx.Capture.VmcoreSource.Open(lab.Dump("qemu-elf")))
        using (var sink = new Kdx.Capture.FileSink(zstdPath))
        {
            var written = Kdx.Capture.KdumpWriter.Write(source, sink, new Kdx.Capture.CaptureOptions { Level = (Kdx.Capture.DumpLevel)31, Compression = KdumpFlags.Zstd, Threads = 2 });
            Assert.False(written.Incomplete, written.Failure);
        }
        using var zstd = DumpFile.Open(zstdPath);
        try
        {
            Assert.Equal(DumpFormat.ElfCore, elf.Format);
            Assert.Equal(("zlib", true, 1), (kdump.Compression, kdump.IsFlattened, kdump.DumpLevel));
            Assert.Equal(("zstd", false, 31), (zstd.Compression, zstd.IsFlattened, zstd.DumpLevel));
            Assert.Equal(lab.Metadata.Cpus, elf.Cpus.Count);
            Assert.Equal(lab.Metadata.Cpus, elf.QemuCpus.Count);
            for (var i = 0; i < elf.Cpus.Count; i++)
                Assert.Equal(elf.Cpus[i].Ip, elf.QemuCpus[i].Rip);
            Assert.Equal(lab.Metadata.Kernel, elf.VmcoreInfo!.OsRelease);
            Assert.Equal(elf.VmcoreInfo.Text, kdump.VmcoreInfo!.Text);
            Assert.Equal(elf.VmcoreInfo.Text, zstd.VmcoreInfo!.Text);

            // QEMU takes its two dumps one after the other from a guest still spinning in panic(),
            // so a few pages (the spinning CPU's stack, timers) may change in between; no more.
            // kdx's zstd file is made from the ELF file itself: every page it keeps is the ELF's page.
            var a = new byte[4096];
            var b = new byte[4096];
            ulong compared = 0, inZstd = 0;
            var differing = new List<ulong>();
            for (ulong pfn = 0; pfn < elf.MaxPfn; pfn++)
            {
                var s = elf.GetPageState(pfn);
                Assert.Equal(s.IsReadable(), kdump.GetPageState(pfn).IsReadable());
                if (!s.IsReadable())
                {
                    Assert.False(zstd.GetPageState(pfn).IsReadable(), $"pfn 0x{pfn:x} is in the zstd file but not in the ELF");
                    continue;
                }
                elf.Read(pfn * 4096, a);
                kdump.Read(pfn * 4096, b);
                if (!a.AsSpan().SequenceEqual(b))
                    differing.Add(pfn);
                compared++;
                if (!zstd.GetPageState(pfn).IsReadable())
                    continue;
                zstd.Read(pfn * 4096, b);
                Assert.True(a.AsSpan().SequenceEqual(b), $"pfn 0x{pfn:x} differs between the ELF and kdx's zstd file");
                inZstd++;
            }
            Assert.True(compared >= (ulong)lab.Metadata.RamMiB * 256, $"compared only {compared} pages");
            Assert.True(differing.Count <= 16, $"{differing.Count} pages differ");
            Assert.True(inZstd > 10000, $"only {inZstd} pages in the zstd file");
            var c = zstd.CountPages();
            Assert.Equal(inZstd, c.Present + c.Zero);
        }
        finally
        {
            File.Delete(zstdPath);
        }
    }

    private static string Field(string sys, string name) =>
        Regex.Match(sys, $@"^\s*{name}: (.*?)\s*$", RegexOptions.Multiline).Groups[1].Value;
}
