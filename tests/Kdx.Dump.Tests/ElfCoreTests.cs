// ELF64 cores built per the ELF and /proc/vmcore conventions: notes, PT_LOAD by physical address,
// excluded ranges (p_filesz < p_memsz), holes, incomplete flag.
using System.Buffers.Binary;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class ElfCoreTests
{
    [Fact]
    public void Reads_pages_states_notes_and_cpus()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(ElfCoreWriter.Write(m, qemuNote: true));
        Assert.Equal(DumpFormat.ElfCore, dump.Format);
        Assert.Equal("x86_64", dump.Machine);
        Assert.Equal("none", dump.Compression);
        Assert.Null(dump.DumpLevel);
        Assert.False(dump.IsIncomplete);
        Assert.Equal("6.1.0-test-amd64", dump.VmcoreInfo!.OsRelease);
        Assert.Equal(1763865000, dump.VmcoreInfo.CrashTime);
        Assert.Equal(2, dump.QemuCpus.Count);
        Assert.Equal(0xffffffff81000020UL, dump.QemuCpus[1].Rip);
        Assert.Equal(0xffffc90000010020UL, dump.QemuCpus[1].Rsp);
        Assert.Equal(0x1234000UL, dump.QemuCpus[1].Cr3);
        Assert.Equal(0xffff888000200000UL, dump.QemuCpus[1].GsBase);
        Assert.Equal(0x7f0000000001UL, dump.QemuCpus[1].KernelGsBase);
        Assert.Equal(2, dump.Cpus.Count);
        Assert.Equal(1234, dump.Cpus[0].Pid);
        Assert.Equal(0xffffffff81000010UL, dump.Cpus[0].Ip);
        Assert.Equal(0xffffc90000010010UL, dump.Cpus[0].Sp);
        Assert.Equal(0x10UL, dump.Cpus[0]["r15"]);
        Assert.Equal(0x10UL + 26, dump.Cpus[0]["gs"]);
        Assert.Equal(0xffffffff81000020UL, dump.Cpus[1].Ip);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: false);
    }

    [Fact]
    public void Counts_pages()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(ElfCoreWriter.Write(m));
        var c = dump.CountPages();
        Assert.Equal((ulong)m.Pages.Count, c.Present);
        Assert.Equal((ulong)m.Excluded.Count, c.Excluded);
        Assert.Null(c.Zero);
        Assert.Equal(48UL, dump.MaxPfn); // the last PT_LOAD ends at pfn 48
        Assert.Equal(4UL, c.Hole);
    }

    [Fact]
    public void Reads_across_page_and_segment_boundaries()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(ElfCoreWriter.Write(m));
        var buf = new byte[3 * 4096];
        dump.Read(12 * 4096 + 100, buf); // pfns 12, 13, 14, 15: one segment
        var expected = m.Pages[12].Skip(100).Concat(m.Pages[13]).Concat(m.Pages[14]).Concat(m.Pages[15].Take(100)).ToArray();
        Assert.Equal(expected, buf);
        var e = Assert.Throws<PageNotInDumpException>(() => dump.Read(9 * 4096 + 4000, new byte[200])); // runs into excluded pfn 10
        Assert.Equal(10UL * 4096, e.PhysicalAddress);
        Assert.Equal(PageAbsence.Excluded, e.Absence);
    }

    [Fact]
    public void Incomplete_flag_marks_missing_tail_lost()
    {
        var m = SyntheticMachine.Sample();
        var full = ElfCoreWriter.Write(m, incomplete: true);
        var cut = full.AsSpan(0, full.Length - 3 * 4096 - 100).ToArray();
        using var dump = TestDumps.Open(cut);
        Assert.True(dump.IsIncomplete);
        Assert.Equal(PageState.Lost, dump.GetPageState(47));
        Assert.Equal(PageState.Present, dump.GetPageState(43));
        Assert.Equal(PageAbsence.Lost, Assert.Throws<PageNotInDumpException>(() => dump.Read(47 * 4096, new byte[8])).Absence);
    }

    [Fact]
    public void Truncated_complete_core_is_a_format_error()
    {
        var m = SyntheticMachine.Sample();
        var full = ElfCoreWriter.Write(m);
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.Open(full.AsSpan(0, full.Length - 1).ToArray(), "cut.elf"));
        Assert.Equal("cut.elf", e.File);
        Assert.Contains("PT_LOAD", e.Problem);
    }

    [Fact]
    public void Extended_phnum_in_section_header_zero()
    {
        var m = SyntheticMachine.Sample();
        var f = ElfCoreWriter.Write(m).ToList();
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(f.ToArray().AsSpan(56));
        // Move the count to section 0's sh_info, as writers do past 65535 segments.
        var shoff = f.Count;
        var sh = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(sh.AsSpan(44), phnum);
        f.AddRange(sh);
        var bytes = f.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(56), 0xffff);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(40), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(60), 1);
        using var dump = TestDumps.Open(bytes);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: false);
    }

    [Fact]
    public void Overlapping_kernel_text_segment_does_not_hide_ram()
    {
        // /proc/vmcore repeats the kernel image as its own PT_LOAD inside a RAM segment.
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(ElfCoreWriter.Write(m, kernelText: (13, 2)));
        TestDumps.AssertMatches(m, dump, zeroPagesShared: false);
        Assert.Equal((ulong)m.Pages.Count, dump.CountPages().Present);
    }
}
