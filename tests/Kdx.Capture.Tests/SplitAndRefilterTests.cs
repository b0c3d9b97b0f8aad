// --split sets, --reassemble, and dumps read again as capture input (filtered again or compressed
// differently), on real lab dumps, with makedumpfile reading kdx's sets and kdx reading its.
using Kdx.Dump;
using Kdx.Dump.Compression;
using Kdx.Lab;

namespace Kdx.Capture.Tests;

public class SplitAndRefilterTests
{
    private static readonly Lazy<LabResult> s_kdump = new(() => LabCatalog.Build(LabCatalog.SysrqKdump()));

    // kdx's 3-part split of the raw /proc/vmcore at -l -d 31 (made once).
    private static readonly Lazy<string[]> s_kdxSplit = new(() =>
    {
        var parts = Enumerable.Range(1, 3).Select(i => CaptureLab.TempPath($"kdx-split.{i}")).ToArray();
        using var source = VmcoreSource.Open(CaptureLab.RawElf);
        var sinks = parts.Select(p => (IDumpSink)new FileSink(p)).ToList();
        try
        {
            var r = KdumpWriter.Write(source, sinks, new CaptureOptions { Level = (DumpLevel)31, Compression = KdumpFlags.Lzo, Threads = 2 });
            Assert.False(r.Incomplete, r.Failure);
        }
        finally
        {
            sinks.ForEach(s => s.Dispose());
        }
        return parts;
    });

    [Fact]
    public void KdxSplit_PartsReadTogether_HoldExactlyTheSingleFilesPages()
    {
        var single = CaptureLab.Kdx("raw-elf", 31, KdumpFlags.Lzo);
        using var set = DumpFile.Open(s_kdxSplit.Value);
        Assert.Contains("split into 3 files", set.FormatDescription);
        // Every part holds a share of the pages (cut at equal shares of the kept pages, not of the pfns).
        var own = ((Kdx.Dump.Formats.Kdump.SplitKdumpDump)set).Parts.Select(p => (long)p.DescriptorCount).ToArray();
        Assert.All(own, n => Assert.True(n > own.Sum() / 6, $"parts hold {string.Join(", ", own)} pages: unbalanced"));
        AssertSamePages(single, set);
    }

    [Fact]
    public void Makedumpfile_ReassemblesKdxSplitSet_IntoTheSamePages()
    {
        // Debian 12's makedumpfile 1.7.2 joins kdx's parts; the result reads back page for page as kdx's single file.
        var joined = CaptureLab.TempPath("kdx-split.mdf-joined");
        File.Delete(joined);
        var (code, output) = CaptureLab.Run("makedumpfile", ["--reassemble", .. s_kdxSplit.Value, joined]);
        Assert.True(code == 0, output);
        using var dump = DumpFile.Open(joined);
        AssertSamePages(CaptureLab.Kdx("raw-elf", 31, KdumpFlags.Lzo), dump);
        // And it still has the crashed kernel's log, as makedumpfile reads it.
        var fromJoined = CaptureLab.TempPath("kdx-split.mdf-joined.dmesg");
        var fromInput = CaptureLab.TempPath("raw-elf.dmesg");
        File.Delete(fromJoined);
        File.Delete(fromInput);
        Assert.Equal(0, CaptureLab.Run("makedumpfile", "--dump-dmesg", joined, fromJoined).Code);
        Assert.Equal(0, CaptureLab.Run("makedumpfile", "--dump-dmesg", CaptureLab.RawElf, fromInput).Code);
        Assert.Equal(File.ReadAllText(fromInput), File.ReadAllText(fromJoined));
    }

    [Fact]
    public void KdxReassemble_OfMakedumpfilesSplitSet_EqualsMakedumpfilesOwnReassembly()
    {
        // makedumpfile 1.7.2 --split -l -d 31 in the real capture kernel (lab), joined by each tool.
        var lab = s_kdump.Value;
        var parts = lab.Files(lab.Metadata.Captures.Single(c => c.Spec.Contains("--split")).Id).ToArray();
        Assert.Equal(CaptureSpec.SplitParts, parts.Length);
        var byKdx = CaptureLab.TempPath("mdf-split.kdx-joined");
        using (var source = VmcoreSource.Open(parts))
        {
            Assert.False(source.IsElfCore);
            Assert.Equal(31, source.Dump.DumpLevel);
            using var sink = new FileSink(byKdx);
            var r = KdumpWriter.Write(source, sink, new CaptureOptions { Level = (DumpLevel)31, Compression = KdumpFlags.Lzo, Threads = 2 });
            Assert.False(r.Incomplete, r.Failure);
        }
        var byMdf = CaptureLab.TempPath("mdf-split.mdf-joined");
        File.Delete(byMdf);
        var (code, output) = CaptureLab.Run("makedumpfile", ["--reassemble", .. parts, byMdf]);
        Assert.True(code == 0, output);
        var a = KdumpBitmaps.Read(byKdx);
        var b = KdumpBitmaps.Read(byMdf);
        Assert.Equal(b.MaxMapnr, a.MaxMapnr);
        Assert.Equal(0UL, KdumpBitmaps.Difference(a.First, b.First, a.MaxMapnr).Count);
        Assert.Equal(0UL, KdumpBitmaps.Difference(b.First, a.First, a.MaxMapnr).Count);
        Assert.Equal(0UL, KdumpBitmaps.Difference(a.Second, b.Second, a.MaxMapnr).Count);
        Assert.Equal(0UL, KdumpBitmaps.Difference(b.Second, a.Second, a.MaxMapnr).Count);
        using var dump = DumpFile.Open(byMdf);
        AssertSamePages(byKdx, dump);
    }

    [Fact]
    public void Refilter_QemusLevel1Dump_At31_KeepsThePagesKdxKeepsFromTheElf()
    {
        // QEMU's kdump-zlib (flattened, every RAM page) and its ELF are the same paused guest:
        // filtering the kdump file again at -d 31 must keep the pages a -d 31 capture of the ELF keeps.
        var flat = CaptureLab.Qemu.Dump(CaptureSpec.QemuKdumpZlib);
        var refiltered = CaptureLab.TempPath("qemu-kdump-zlib.d31");
        using (var source = VmcoreSource.Open(flat))
        {
            Assert.False(source.IsElfCore);
            using var sink = new FileSink(refiltered);
            var r = KdumpWriter.Write(source, sink, new CaptureOptions { Level = (DumpLevel)31, Compression = KdumpFlags.Zstd, Threads = 2 });
            Assert.False(r.Incomplete, r.Failure);
            Assert.True(r.Excluded.Free > 10000, $"{r.Excluded.Free} free pages excluded from a 1 GiB idle guest");
        }
        var fromElf = KdumpBitmaps.Read(CaptureLab.Kdx("qemu-elf", 31, KdumpFlags.Lzo));
        var again = KdumpBitmaps.Read(refiltered);
        // QEMU's kdump file stops at the end of RAM; the ELF also has a 256 KiB BIOS segment below 4 GiB.
        var ram = Math.Min(again.MaxMapnr, fromElf.MaxMapnr);
        Assert.Equal(0UL, KdumpBitmaps.Difference(again.Second, fromElf.Second, ram).Count);
        Assert.Equal(0UL, KdumpBitmaps.Difference(fromElf.Second, again.Second, ram).Count);
        using var dump = DumpFile.Open(refiltered);
        Assert.Equal("zstd", dump.Compression);
        AssertSamePages(CaptureLab.Kdx("qemu-elf", 31, KdumpFlags.Lzo), dump, ram);
    }

    // Same state (readable or not) and the same bytes for every pfn of the expected dump.
    private static void AssertSamePages(string expectedPath, IDumpFile actual, ulong? pfns = null)
    {
        using var expected = DumpFile.Open(expectedPath);
        var a = new byte[expected.PageSize];
        var b = new byte[expected.PageSize];
        ulong compared = 0;
        var end = pfns ?? expected.MaxPfn;
        if (pfns is null)
            Assert.Equal(expected.MaxPfn, actual.MaxPfn);
        for (ulong pfn = 0; pfn < end; pfn++)
        {
            var s = expected.GetPageState(pfn);
            Assert.True(s.IsReadable() == actual.GetPageState(pfn).IsReadable(), $"pfn 0x{pfn:x}: {s} in {expectedPath}, {actual.GetPageState(pfn)} in {actual.Paths[0]}");
            if (!s.IsReadable())
                continue;
            expected.Read(pfn * (ulong)expected.PageSize, a);
            actual.Read(pfn * (ulong)expected.PageSize, b);
            Assert.True(a.AsSpan().SequenceEqual(b), $"pfn 0x{pfn:x} differs");
            compared++;
        }
        Assert.True(compared > 10000, $"only {compared} pages compared");
    }
}
