// The whole-dump scan behind `kdx verify`: every stored page is read back whole, counts agree with
// the file's own page tables whatever the format or the number of threads, and damaged pages are
// reported by pfn and file offset instead of stopping the scan.
using System.Buffers.Binary;
using Kdx.Dump.Compression;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class PageScannerTests
{
    public static TheoryData<KdumpFlags> Methods => [KdumpFlags.None, KdumpFlags.Zlib, KdumpFlags.Lzo, KdumpFlags.Snappy, KdumpFlags.Zstd];

    /// <summary>
    /// More pfns than two scan chunks: every 5th pfn stored (some all-zero), every 7th excluded,
    /// a hole from 5000 to 5100, so chunks start in the middle of the descriptor array.
    /// </summary>
    private static SyntheticMachine Wide()
    {
        var m = new SyntheticMachine { MaxPfn = 2 * PageScanner.ChunkPages + 777 };
        for (ulong pfn = 0; pfn < m.MaxPfn; pfn++)
        {
            if (pfn is >= 5000 and < 5100)
                continue;
            if (pfn % 5 == 0)
                m.Pages[pfn] = pfn % 35 == 0 ? new byte[m.PageSize] : SyntheticMachine.Pattern(pfn, m.PageSize);
            else if (pfn % 7 == 0)
                m.Excluded.Add(pfn);
            else if (pfn % 3 == 0)
                m.Pages[pfn] = SyntheticMachine.Pattern(pfn, m.PageSize);
        }
        m.VmcoreInfo = SyntheticMachine.Sample().VmcoreInfo;
        return m;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Reads_every_stored_page_and_counts_match_the_bitmaps(KdumpFlags method)
    {
        var m = Wide();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = method }));
        var counts = dump.CountPages();
        foreach (var threads in new[] { 1, 3 })
        {
            var r = PageScanner.Scan(dump, new PageScanOptions { Threads = threads });
            Assert.Equal((counts.Present, counts.Zero, counts.Excluded, counts.Hole, 0UL, 0UL), (r.Pages, (ulong?)r.ZeroPages, r.Excluded, r.Holes, r.Lost, r.Damaged));
            Assert.Equal(r.Pages * 4096, r.PageBytes);
            Assert.True(r.IsIntact);
            Assert.Empty(r.DamagedPages);
        }
    }

    [Fact]
    public void Damaged_pages_are_listed_by_pfn_and_file_offset_and_the_scan_goes_on()
    {
        var m = Wide();
        var bytes = KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Lzo });
        var stored = m.Pages.Where(p => p.Value.Any(b => b != 0)).Select(p => p.Key).ToList();
        var dumpable = m.Pages.Keys.ToList();
        // One page in the second chunk whose lzo data is cut to 3 bytes, one in the third whose
        // descriptor points past the end of the file.
        var cut = stored.First(p => p > PageScanner.ChunkPages + 100);
        var wild = stored.First(p => p > 2 * PageScanner.ChunkPages);
        var cutDesc = DescriptorAt(bytes, dumpable.IndexOf(cut));
        var cutData = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)cutDesc));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)cutDesc + 8), 3);
        var wildDesc = DescriptorAt(bytes, dumpable.IndexOf(wild));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan((int)wildDesc), bytes.Length + 4096L);

        using var dump = TestDumps.Open(bytes);
        var r = PageScanner.Scan(dump, new PageScanOptions { Threads = 2 });
        Assert.Equal(2UL, r.Damaged);
        Assert.False(r.IsIntact);
        Assert.Equal((ulong)stored.Count - 2, r.Pages);
        Assert.Equal([cut, wild], r.DamagedPages.Select(d => d.Pfn));
        Assert.Equal(cutData, r.DamagedPages[0].Offset);
        Assert.Contains("lzo", r.DamagedPages[0].Problem);
        Assert.Equal(wildDesc, r.DamagedPages[1].Offset);
        Assert.Contains("past the end of the file", r.DamagedPages[1].Problem);
        Assert.All(r.DamagedPages, d => Assert.Equal("test.dump", d.File));

        var one = PageScanner.Scan(dump, new PageScanOptions { Threads = 1, MaxDamagedListed = 1 });
        Assert.Equal(2UL, one.Damaged);
        Assert.Equal([cut], one.DamagedPages.Select(d => d.Pfn));
    }

    [Fact]
    public void Incomplete_dump_counts_lost_pages()
    {
        var m = Wide();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Snappy, WrittenPages = 1000 }));
        var r = PageScanner.Scan(dump);
        Assert.Equal(dump.CountPages().Lost, r.Lost);
        Assert.True(r.Lost > 0);
        Assert.Equal(0UL, r.Damaged);
        Assert.False(r.IsIntact);
    }

    [Fact]
    public void Split_flattened_and_elf_scans_agree_with_the_plain_file()
    {
        var m = Wide();
        using var plain = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Zstd }));
        var expected = PageScanner.Scan(plain);
        var third = m.MaxPfn / 3;
        using var split = TestDumps.OpenSet(
            KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Lzo, Split = (0, third) }),
            KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Zlib, Split = (third, 2 * third) }),
            KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Snappy, Split = (2 * third, m.MaxPfn) }));
        using var flat = TestDumps.Open(FlattenedWriter.Wrap(KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Lzo }), shuffleSeed: 7));
        foreach (var d in new[] { split, flat })
            Assert.Equal(expected with { StoredBytes = 0, DamagedPages = [] }, PageScanner.Scan(d, new PageScanOptions { Threads = 2 }) with { StoredBytes = 0, DamagedPages = [] });

        // ELF keeps zero pages as data and has no holes inside a segment's file part.
        using var elf = TestDumps.Open(ElfCoreWriter.Write(m));
        var e = PageScanner.Scan(elf, new PageScanOptions { Threads = 2 });
        var c = elf.CountPages();
        Assert.Equal((c.Present, c.Excluded, c.Hole, 0UL), (e.Pages, e.Excluded, e.Holes, e.Damaged));
        Assert.Equal(expected.Pages + expected.ZeroPages, e.Pages);
        Assert.Equal(e.Pages * 4096, e.StoredBytes);
    }

    // The file offset of the index-th page_desc, from the header (block size, sub-header and bitmap blocks).
    private static long DescriptorAt(byte[] file, int index)
    {
        var bs = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(428));
        var sub = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(432));
        var bitmap = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(436));
        return (long)(1 + sub + bitmap) * bs + 24L * index;
    }
}
