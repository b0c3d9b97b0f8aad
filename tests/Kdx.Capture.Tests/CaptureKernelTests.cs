// kdx capture as the core collector in a real kdump capture kernel: a NativeAOT kdx runs on
// /proc/vmcore beside makedumpfile 1.7.2 (same crash, same capture kernel), and both files must
// hold the same pages with the same contents.
using Kdx.Dump;
using Kdx.Lab;

namespace Kdx.Capture.Tests;

public class CaptureKernelTests
{
    [Theory]
    [InlineData(31)]
    [InlineData(1)] // every RAM page is read: windows of /proc/vmcore all over it (a capture kernel refuses some mappings)
    public void InCaptureKernel_KdxKeepsWhatMakedumpfileKeeps(int level)
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdumpKdx(KdxBinary.NativeAot()));
        // -d 1 was written flattened (streamed to the disk): rebuilt here with makedumpfile -R
        var kdxPath = level == 31 ? lab.Dump("kdump-kdx-l-d31") : CaptureLab.RebuiltByMakedumpfile(lab.Dump("kdump-kdx-F-l-d1"));
        var mdfPath = level == 31 ? lab.Dump("kdump-mdf-l-d31") : CaptureLab.RebuiltByMakedumpfile(lab.Dump("kdump-mdf-F-l-d1"));
        var kdx = KdumpBitmaps.Read(kdxPath);
        var mdf = KdumpBitmaps.Read(mdfPath);
        Assert.Equal(mdf.MaxMapnr, kdx.MaxMapnr);
        Assert.Equal(mdf.Second, kdx.Second);
        // 1st bitmaps: kdx, like makedumpfile on the host and in every other lab run, leaves out a
        // page RAM covers only in part (0x9f: e820 "usable" ends at 0x9fbff). makedumpfile 1.7.2 in
        // the capture kernel sets that bit in this scenario (2nd bitmap still clear; cause unknown), so
        // a 1st-bitmap difference is accepted only for such partial pages, read from the console's e820.
        var partial = PartialRamPages(File.ReadAllText(lab.ConsoleLog));
        Assert.Equal(0UL, KdumpBitmaps.Difference(kdx.First, mdf.First, kdx.MaxMapnr).Count);
        var (count, first) = KdumpBitmaps.Difference(mdf.First, kdx.First, kdx.MaxMapnr);
        Assert.True(count <= (ulong)partial.Count && first.All(partial.Contains),
            $"makedumpfile has RAM pages kdx lacks: {string.Join(' ', first.Select(p => $"0x{p:x}"))}; partial e820 pages: {string.Join(' ', partial.Select(p => $"0x{p:x}"))}");
        var ratio = (double)new FileInfo(kdxPath).Length / new FileInfo(mdfPath).Length;
        Assert.True(Math.Abs(ratio - 1) <= 0.02, $"size ratio {ratio:0.0000}");

        using var a = DumpFile.Open(kdxPath);
        using var b = DumpFile.Open(mdfPath);
        using var flat = DumpFile.Open(level == 31 ? lab.Dump("kdump-kdx-F-c-d31") : kdxPath); // the flattened -c copy, where there is one
        Assert.True(level != 31 || (flat.IsFlattened && flat.Compression == "zlib"));
        var x = new byte[a.PageSize];
        var y = new byte[a.PageSize];
        var z = new byte[a.PageSize];
        ulong compared = 0;
        for (ulong pfn = 0; pfn < kdx.MaxMapnr; pfn++)
        {
            var state = a.GetPageState(pfn);
            if (partial.Contains(pfn) && state == PageState.Hole)
                Assert.Contains(b.GetPageState(pfn), new[] { PageState.Hole, PageState.Excluded }); // the 1st-bitmap case above
            else
                Assert.Equal(b.GetPageState(pfn), state);
            Assert.Equal(state, flat.GetPageState(pfn));
            if (!state.IsReadable())
                continue;
            var at = pfn * (ulong)a.PageSize;
            a.Read(at, x);
            b.Read(at, y);
            flat.Read(at, z);
            Assert.True(x.AsSpan().SequenceEqual(y) && x.AsSpan().SequenceEqual(z), $"pfn 0x{pfn:x} differs");
            compared++;
        }
        Assert.True(compared > 10000);
    }

    [Fact]
    public void Crash9_ReadsKdxsFileFromTheCaptureKernel()
    {
        // The lab's oracles run crash 9 (Debian sid chroot, DWARF vmlinux) on the scenario's first
        // capture, which here is kdx's -l -d 31 file written in the capture kernel.
        var lab = LabCatalog.Build(LabCatalog.SysrqKdumpKdx(KdxBinary.NativeAot()));
        Assert.Equal("kdump-kdx-l-d31", lab.Metadata.Captures[0].Id);
        var oracle = Oracles.Ensure(lab);
        var sys = File.ReadAllText(Path.Combine(oracle, "crash-sys.txt"));
        Assert.Contains("kdump-kdx-l-d31.vmcore", sys);
        Assert.Contains($"RELEASE: {lab.Metadata.Kernel}", sys);
        Assert.Contains("sysrq triggered crash", sys);
        var ps = File.ReadAllText(Path.Combine(oracle, "crash-ps.txt"));
        Assert.Contains("swapper/0", ps);
        Assert.Contains("sysrq", File.ReadAllText(Path.Combine(oracle, "crash-bt.txt")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Crash9_ReadsKdxsSplitSetFromTheCaptureKernel_AsItReadsTheSingleFile()
    {
        // kdx capture --split -l -d 31 as the collector in the real capture kernel: three files that
        // crash 9 opens together, telling the same system and panic as kdx's single -l -d 31 file of
        // the same /proc/vmcore; kdx reads the set with the same pages as that file.
        var lab = LabCatalog.Build(LabCatalog.SysrqKdumpKdx(KdxBinary.NativeAot()));
        var split = lab.Metadata.Captures.ToList().FindIndex(c => c.Id == "kdump-kdx-split-l-d31");
        Assert.Equal(CaptureSpec.SplitParts, lab.Metadata.Captures[split].Files.Count);
        var fromSet = Oracles.Crash(lab, "sys; bt", split);
        var fromSingle = Oracles.Crash(lab, "sys; bt", 0);
        Assert.Contains("sysrq triggered crash", fromSet);
        // crash names the file(s) in DUMPFILE, a split set one per line: everything else must agree.
        static string WithoutDumpfile(string text) =>
            string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith("DUMPFILE", StringComparison.Ordinal) && !l.Contains("/lab/scenarios/", StringComparison.Ordinal)));
        Assert.Equal(WithoutDumpfile(fromSingle), WithoutDumpfile(fromSet));
        using var set = DumpFile.Open([.. lab.Files("kdump-kdx-split-l-d31")]);
        using var single = DumpFile.Open(lab.Dump("kdump-kdx-l-d31"));
        Assert.Contains("split into 3 files", set.FormatDescription);
        var a = new byte[single.PageSize];
        var b = new byte[single.PageSize];
        ulong compared = 0;
        for (ulong pfn = 0; pfn < single.MaxPfn; pfn++)
        {
            var s = single.GetPageState(pfn);
            Assert.Equal(s, set.GetPageState(pfn));
            if (!s.IsReadable())
                continue;
            single.Read(pfn * (ulong)single.PageSize, a);
            set.Read(pfn * (ulong)single.PageSize, b);
            Assert.True(a.AsSpan().SequenceEqual(b), $"pfn 0x{pfn:x} differs");
            compared++;
        }
        Assert.True(compared > 10000, $"{compared} pages compared");
    }

    // Pages that an e820 "usable" range of the crashed (first) kernel covers only in part.
    private static HashSet<ulong> PartialRamPages(string console)
    {
        var pages = new HashSet<ulong>();
        var firstKernel = console.Split("Linux version")[..2];
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(string.Join("", firstKernel), @"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable"))
        {
            var start = Convert.ToUInt64(m.Groups[1].Value, 16);
            var end = Convert.ToUInt64(m.Groups[2].Value, 16) + 1;
            if (start % 4096 != 0)
                pages.Add(start / 4096);
            if (end % 4096 != 0)
                pages.Add(end / 4096);
        }
        return pages;
    }
}
