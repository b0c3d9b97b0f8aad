// kdump-compressed files built per makedumpfile's layout: each compression, raw pages, the
// shared zero page, excluded pages and holes, header versions, incomplete dumps, split sets.
using Kdx.Dump.Compression;
using Kdx.Dump.Formats.Kdump;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class KdumpTests
{
    public static TheoryData<KdumpFlags> Methods => [KdumpFlags.None, KdumpFlags.Zlib, KdumpFlags.Lzo, KdumpFlags.Snappy, KdumpFlags.Zstd];

    [Theory]
    [MemberData(nameof(Methods))]
    public void Reads_every_page_with_each_compression(KdumpFlags method)
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = method }));
        Assert.Equal(DumpFormat.KdumpCompressed, dump.Format);
        Assert.Equal(PageCompression.Describe(method), dump.Compression);
        Assert.Equal(31, dump.DumpLevel);
        Assert.False(dump.IsIncomplete);
        Assert.Equal("x86_64", dump.Machine);
        Assert.Equal(64UL, dump.MaxPfn);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: true);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Counts_present_zero_excluded_and_holes(KdumpFlags method)
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = method }));
        var c = dump.CountPages();
        Assert.Equal(new PageCounts((ulong)m.Pages.Count - 2, 2, 3, 64 - 48 + 4, 0), c);
    }

    [Fact]
    public void Notes_vmcoreinfo_and_cpus_come_from_the_sub_header()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(KdumpWriter.Write(m));
        Assert.Equal("6.1.0-test-amd64", dump.VmcoreInfo!.OsRelease);
        Assert.Equal(0x1000000UL, dump.VmcoreInfo.KernelOffset);
        Assert.Equal(2, dump.Cpus.Count);
        Assert.Equal(1234, dump.Cpus[0].Pid);
        Assert.Equal(0xffffffff81000010UL, dump.Cpus[0].Ip);
        Assert.Contains("kdump-compressed v6", dump.FormatDescription);
    }

    [Fact]
    public void Incompressible_page_is_stored_raw_and_read_back()
    {
        var m = SyntheticMachine.Sample();
        var bytes = KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Zlib });
        using var dump = TestDumps.Open(bytes);
        var page = new byte[4096];
        dump.Read(40 * 4096, page);
        Assert.Equal(m.Pages[40], page);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Header_versions_1_to_6(int version)
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Version = version, Method = KdumpFlags.Snappy }));
        TestDumps.AssertMatches(m, dump, zeroPagesShared: true);
        Assert.Equal(31, dump.DumpLevel);
        // VMCOREINFO is in the sub-header from version 3, and notes from version 4
        Assert.Equal(version >= 3, dump.VmcoreInfo is not null);
        Assert.Equal(version >= 4 ? 2 : 0, dump.Cpus.Count);
    }

    [Fact]
    public void Incomplete_dump_reports_unwritten_pages_lost()
    {
        var m = SyntheticMachine.Sample();
        var bytes = KdumpWriter.Write(m, new KdumpOptions { WrittenPages = 20 });
        using var dump = TestDumps.Open(bytes);
        Assert.True(dump.IsIncomplete);
        var kept = m.Pages.Keys.ToList();
        var page = new byte[4096];
        for (var i = 0; i < kept.Count; i++)
        {
            var state = dump.GetPageState(kept[i]);
            if (i < 20)
            {
                Assert.True(state.IsReadable());
                dump.Read(kept[i] * 4096, page);
                Assert.Equal(m.Pages[kept[i]], page);
            }
            else
            {
                Assert.Equal(PageState.Lost, state);
                Assert.Equal(PageAbsence.Lost, Assert.Throws<PageNotInDumpException>(() => dump.Read(kept[i] * 4096, page)).Absence);
            }
        }
        Assert.Equal((ulong)kept.Count - 20, dump.CountPages().Lost);
    }

    [Fact]
    public void Incomplete_dump_cut_inside_the_descriptors_still_opens()
    {
        var m = SyntheticMachine.Sample();
        var bytes = KdumpWriter.Write(m, new KdumpOptions { WrittenPages = 3 });
        var descAt = bytes.Length - 4096 - 3 * 4096; // not exact: cut well before the data
        using var dump = TestDumps.Open(bytes.AsSpan(0, Math.Max(descAt, 5 * 4096)).ToArray());
        Assert.True(dump.IsIncomplete);
        var c = dump.CountPages();
        Assert.Equal((ulong)m.Pages.Count, c.Present + c.Zero!.Value + c.Lost);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Split_set_of_three_reads_as_one(KdumpFlags method)
    {
        var m = SyntheticMachine.Sample();
        var parts = new[] { (0UL, 17UL), (17UL, 40UL), (40UL, 64UL) }
            .Select(r => KdumpWriter.Write(m, new KdumpOptions { Method = method, Split = r }))
            .ToArray();
        using var dump = TestDumps.OpenSet(parts[2], parts[0], parts[1]); // any order
        Assert.Contains("split into 3", dump.FormatDescription);
        Assert.Equal(3, dump.Paths.Count);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: true);
        Assert.Equal(new PageCounts((ulong)m.Pages.Count - 2, 2, 3, 20, 0), dump.CountPages());
    }

    [Fact]
    public void Split_set_with_a_missing_part_is_refused()
    {
        var m = SyntheticMachine.Sample();
        var a = KdumpWriter.Write(m, new KdumpOptions { Split = (0, 17) });
        var c = KdumpWriter.Write(m, new KdumpOptions { Split = (40, 64) });
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.OpenSet(a, c));
        Assert.Contains("missing the part for pfns 0x11-0x28", e.Problem);
    }

    [Fact]
    public void One_split_part_alone_reads_its_own_range()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Split = (17, 40) }));
        var part = Assert.IsType<KdumpCompressedDump>(dump);
        Assert.True(part.IsSplit);
        var page = new byte[4096];
        dump.Read(25 * 4096, page);
        Assert.Equal(m.Pages[25], page);
        Assert.Equal(PageState.Hole, dump.GetPageState(12));
    }

    [Fact]
    public void Files_that_are_not_a_split_set_are_refused_together()
    {
        var m = SyntheticMachine.Sample();
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.OpenSet(KdumpWriter.Write(m), KdumpWriter.Write(m)));
        Assert.Contains("not part of a split dump", e.Problem);
    }

    [Fact]
    public void Pages_sharing_a_cache_slot_do_not_mix()
    {
        // The page cache has 256 slots indexed by pfn: pfns 3, 259 and 515 share one.
        var m = new SyntheticMachine { MaxPfn = 600 };
        for (ulong pfn = 0; pfn < 600; pfn++)
            m.Pages[pfn] = SyntheticMachine.Pattern(pfn, 4096);
        using var dump = TestDumps.Open(KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Zstd }));
        var page = new byte[4096];
        foreach (var pfn in new ulong[] { 3, 259, 3, 515, 259, 515, 3 })
        {
            dump.Read(pfn * 4096, page);
            Assert.Equal(m.Pages[pfn], page);
        }
        var span = new byte[300 * 4096];
        dump.Read(100 * 4096, span); // 300 pages through the 256-slot cache in one read
        for (var i = 0; i < 300; i++)
            Assert.True(m.Pages[100 + (ulong)i].AsSpan().SequenceEqual(span.AsSpan(i * 4096, 4096)), $"page {100 + i}");
    }
}
