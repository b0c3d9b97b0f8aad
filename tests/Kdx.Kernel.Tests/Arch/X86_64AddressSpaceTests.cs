// The x86_64 page-table walk on hand-built 4- and 5-level tables with 1G/2M/4K pages, KASLR,
// direct-map discovery, and end to end through synthetic ELF and kdump files.
using System.Text;
using Kdx.Dump;
using Kdx.Dump.IO;
using Kdx.Dump.Tests.Synthetic;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Tests.Arch;

public class X86_64AddressSpaceTests
{
    private static X86_64AddressSpace Space(SyntheticKernel k) =>
        X86_64AddressSpace.FromVmcoreInfo(new MachineMemory(k.Machine), VmcoreInfo.Parse(k.Machine.VmcoreInfo), "synthetic");

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Root_comes_from_init_top_pgt_and_phys_base(int levels)
    {
        var k = new SyntheticKernel(levels);
        var s = Space(k);
        Assert.Equal(levels, s.Levels);
        Assert.Equal(k.Tables.Root, s.RootTable);
        Assert.Equal(SyntheticKernel.ImageToPhys(k.InitTopPgt), s.RootTable);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Translates_each_page_size(int levels)
    {
        var k = new SyntheticKernel(levels);
        var s = Space(k);
        AssertTranslates(s, k.DirectMap + 0x1234, 0x1234, 12);
        AssertTranslates(s, k.DirectMap + (16UL << 20) + 5, (16UL << 20) + 5, 21);
        AssertTranslates(s, k.DirectMap + (1UL << 30) + 0x123456, (1UL << 30) + 0x123456, 30);
        AssertTranslates(s, k.Vmalloc + 4096 + 7, 0x1234UL * 4096 + 7, 12);
        AssertTranslates(s, k.Module + 3, 0x6000UL * 4096 + 3, 12);
        AssertTranslates(s, k.InitUtsNs, SyntheticKernel.ImageToPhys(k.InitUtsNs), 21);
    }

    private static void AssertTranslates(X86_64AddressSpace s, ulong vaddr, ulong paddr, int shift)
    {
        Assert.True(s.TryTranslate(vaddr, out var p, out var sh, out var fault), fault);
        Assert.Equal(paddr, p);
        Assert.Equal(shift, sh);
        Assert.Equal(paddr, s.Translate(vaddr));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Reads_kernel_image_strings_at_kaslr_addresses(int levels)
    {
        var k = new SyntheticKernel(levels);
        var s = Space(k);
        var info = VmcoreInfo.Parse(k.Machine.VmcoreInfo);
        var name = new byte[65];
        s.Read(info.Symbol("init_uts_ns")!.Value + info.Offset("uts_namespace", "name")!.Value + 2 * 65, name);
        Assert.Equal(SyntheticKernel.Release, Encoding.ASCII.GetString(name).TrimEnd('\0'));
        var banner = new byte[SyntheticKernel.Banner.Length];
        s.Read(k.LinuxBanner, banner); // crosses a 4K boundary inside a 2M page
        Assert.Equal(SyntheticKernel.Banner, Encoding.ASCII.GetString(banner));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Reads_across_pages_mapped_to_scattered_frames(int levels)
    {
        var k = new SyntheticKernel(levels);
        var s = Space(k);
        var buf = new byte[3 * 4096 - 20];
        s.Read(k.Vmalloc + 10, buf);
        Assert.All(buf.AsSpan(0, 4086).ToArray(), b => Assert.Equal(0xa0, b));
        Assert.All(buf.AsSpan(4086, 4096).ToArray(), b => Assert.Equal(0xa1, b));
        Assert.All(buf.AsSpan(4086 + 4096).ToArray(), b => Assert.Equal(0xa2, b));
        // and from the direct map's 4K region into its 2M pages
        var d = new byte[16];
        s.Read(k.DirectMap + (2UL << 20) - 8, d);
        Assert.Equal("4K page|2M page|", Encoding.ASCII.GetString(d));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Finds_the_randomised_direct_map_in_the_tables(int levels)
    {
        var k = new SyntheticKernel(levels);
        var s = Space(k);
        Assert.Equal(k.DirectMap, s.DirectMapBase);
        var text = new byte[7];
        s.Read(s.DirectMapBase!.Value + (1UL << 30) + 8, text);
        Assert.Equal("one gig", Encoding.ASCII.GetString(text));
    }

    [Fact]
    public void Unmapped_and_non_canonical_addresses()
    {
        var s = Space(new SyntheticKernel(4));
        var e = Assert.Throws<UnmappedAddressException>(() => s.Read(0xffffc90000000000, new byte[8]));
        Assert.Contains("not present", e.Reason);
        e = Assert.Throws<UnmappedAddressException>(() => s.Read(0x0000900000000000, new byte[8]));
        Assert.Contains("canonical", e.Reason);
        // canonical for 5 levels but not for 4
        Assert.Throws<UnmappedAddressException>(() => s.Read(0xff11000000000000, new byte[8]));
    }

    [Fact]
    public void Page_table_page_missing_from_the_dump_is_reported_as_such()
    {
        var k = new SyntheticKernel(4);
        var s0 = Space(k);
        Assert.True(s0.TryTranslate(k.Vmalloc, out _, out _, out _));
        // Drop the PT page that maps vmalloc: find it by walking with a fresh space after removal.
        var ptes = k.Machine.Pages.Keys.Where(p => p >= 0x100 && p < 0x200).ToList();
        foreach (var pfn in ptes)
        {
            var page = k.Machine.Pages[pfn];
            k.Machine.Pages.Remove(pfn);
            k.Machine.Excluded.Add(pfn);
            var s = Space(k);
            try
            {
                s.Read(k.Vmalloc, new byte[8]);
            }
            catch (PageNotInDumpException e)
            {
                Assert.Equal(PageAbsence.Excluded, e.Absence);
                Assert.Equal(pfn, e.PhysicalAddress / 4096);
                return;
            }
            finally
            {
                k.Machine.Pages[pfn] = page;
                k.Machine.Excluded.Remove(pfn);
            }
        }
        Assert.Fail("no page table page was on the vmalloc path");
    }

    [Fact]
    public void Sme_mask_is_cleared_from_entries()
    {
        var k = new SyntheticKernel(4, smeBit: 1UL << 47);
        var s = Space(k);
        Assert.Equal(0x1234UL, s.Translate(k.DirectMap + 0x1234));
        var banner = new byte[SyntheticKernel.Banner.Length];
        s.Read(k.LinuxBanner, banner);
        Assert.Equal(SyntheticKernel.Banner, Encoding.ASCII.GetString(banner));
    }

    [Theory]
    [InlineData(4, "elf")]
    [InlineData(4, "kdump")]
    [InlineData(5, "kdump")]
    [InlineData(5, "flat")]
    public void End_to_end_through_dump_files(int levels, string format)
    {
        var k = new SyntheticKernel(levels);
        var bytes = format switch
        {
            "elf" => ElfCoreWriter.Write(k.Machine),
            "kdump" => KdumpWriter.Write(k.Machine, new KdumpOptions { Method = Dump.Compression.KdumpFlags.Lzo }),
            _ => FlattenedWriter.Wrap(KdumpWriter.Write(k.Machine, new KdumpOptions { Method = Dump.Compression.KdumpFlags.Zstd }), 65536, 3),
        };
        using var dump = DumpFile.Open([new MemoryByteSource("synthetic", bytes)]);
        var s = KernelMemory.Open(dump);
        var banner = new byte[SyntheticKernel.Banner.Length];
        s.Read(k.LinuxBanner, banner);
        Assert.Equal(SyntheticKernel.Banner, Encoding.ASCII.GetString(banner));
        Assert.Equal(k.DirectMap, s.DirectMapBase);
        var text = new byte[7];
        s.Read(k.DirectMap + (16UL << 20), text);
        Assert.Equal("sixteen", Encoding.ASCII.GetString(text));
    }

    [Fact]
    public void Dump_without_vmcoreinfo_cannot_translate()
    {
        var k = new SyntheticKernel(4);
        k.Machine.VmcoreInfo = "";
        using var dump = DumpFile.Open([new MemoryByteSource("novmci", ElfCoreWriter.Write(k.Machine))]);
        var e = Assert.Throws<DumpFormatException>(() => KernelMemory.Open(dump));
        Assert.Contains("no VMCOREINFO", e.Problem);
    }
}
