// The pages kdx keeps, per dump level, against makedumpfile 1.7.2 on the same real input (a raw
// /proc/vmcore, QEMU's ELF) and, for QEMU's ELF, against QEMU's own kdump file of the same
// moment: both bitmaps must agree.
using Kdx.Dump;
using Kdx.Dump.Compression;

namespace Kdx.Capture.Tests;

public class PageSetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(31)]
    public void RawVmcore_KeepsTheSamePagesAsMakedumpfile(int level)
    {
        var kdx = KdumpBitmaps.Read(CaptureLab.Kdx("raw-elf", level, KdumpFlags.Lzo));
        var mdf = KdumpBitmaps.Read(CaptureLab.Makedumpfile("raw-elf", level, "-l"));
        Assert.Equal(mdf.MaxMapnr, kdx.MaxMapnr);
        Assert.Equal(level, kdx.DumpLevel);
        AssertSame("1st (RAM)", kdx.First, mdf.First, kdx.MaxMapnr);
        AssertSame($"2nd (kept at -d {level})", kdx.Second, mdf.Second, kdx.MaxMapnr);
        // The levels really filter: -d 17 and -d 31 keep fewer pages than there is RAM.
        if (level > 1)
            Assert.True(KdumpBitmaps.Difference(kdx.First, kdx.Second, kdx.MaxMapnr).Count > 1000);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(31)]
    public void QemuElf_KeepsTheSamePagesAsMakedumpfile(int level)
    {
        // makedumpfile 1.7.2 (and 1.7.8) cannot read QEMU's ELF as QEMU lays it out; it reads the
        // same file with the program headers moved up front (CaptureLab: nothing else changes).
        var (code, output) = CaptureLab.Run("makedumpfile", "-l", "-d", "31", CaptureLab.Input("qemu-elf"), CaptureLab.TempPath($"mdf-qemu-{level}"));
        Assert.NotEqual(0, code);
        Assert.Contains("Can't get the number of PT_LOAD", output);
        var kdx = KdumpBitmaps.Read(CaptureLab.Kdx("qemu-elf", level, KdumpFlags.Lzo));
        var mdf = KdumpBitmaps.Read(CaptureLab.Makedumpfile("qemu-elf-phdrs-first", level, "-l"));
        // QEMU's core goes on past RAM (its BIOS ROM, 256 KiB below 4 GiB): both stop max_mapnr at the
        // end of the highest memory section that has a mem_map, not at the end of the last PT_LOAD.
        using (var input = VmcoreSource.Open(CaptureLab.Input("qemu-elf")))
            Assert.True(input.Loads[^1].End / 4096 > kdx.MaxMapnr, "the input has a segment beyond RAM");
        Assert.Equal(mdf.MaxMapnr, kdx.MaxMapnr);
        AssertSame("1st (RAM)", kdx.First, mdf.First, kdx.MaxMapnr);
        AssertSame($"2nd (kept at -d {level})", kdx.Second, mdf.Second, kdx.MaxMapnr);
        if (level > 1)
            Assert.True(KdumpBitmaps.Difference(kdx.First, kdx.Second, kdx.MaxMapnr).Count > 10000, "a 1 GiB idle guest has well over 40 MiB free");
    }

    [Fact]
    public void QemuElf_Level1_KeepsTheSamePagesAsQemusKdumpFile()
    {
        // QEMU's kdump-zlib is dump level 1 of the same paused guest: every RAM page, zero pages shared.
        var rebuilt = CaptureLab.RebuiltByMakedumpfile(CaptureLab.Qemu.Dump("qemu-kdump-zlib"));
        var kdxPath = CaptureLab.Kdx("qemu-elf", 1, KdumpFlags.Lzo);
        var kdx = KdumpBitmaps.Read(kdxPath);
        var qemu = KdumpBitmaps.Read(rebuilt);
        // QEMU's max_mapnr covers its BIOS ROM segment below 4 GiB; kdx's, like makedumpfile's, stops
        // at the end of the mem_map (QemuElf_KeepsTheSamePagesAsMakedumpfile). Below that the pages
        // agree; above it QEMU has the ROM's pages and nothing else.
        Assert.True(qemu.MaxMapnr > kdx.MaxMapnr);
        AssertSame("1st (RAM)", kdx.First, qemu.First, kdx.MaxMapnr);
        AssertSame("2nd (kept at -d 1)", kdx.Second, qemu.Second, kdx.MaxMapnr);
        using (var input = VmcoreSource.Open(CaptureLab.Input("qemu-elf")))
        {
            var rom = input.Loads.Where(l => l.Start / 4096 >= kdx.MaxMapnr).ToList();
            Assert.NotEmpty(rom);
            for (var pfn = kdx.MaxMapnr; pfn < qemu.MaxMapnr; pfn++)
                Assert.Equal(rom.Any(l => pfn >= l.Start / 4096 && pfn < l.End / 4096), KdumpBitmaps.Bit(qemu.First, pfn));
        }
        using var a = DumpFile.Open(kdxPath);
        using var b = DumpFile.Open(rebuilt);
        ulong qemuZeroBelow = 0, qemuZeroRom = 0;
        for (ulong pfn = 0; pfn < qemu.MaxMapnr; pfn++)
            if (b.GetPageState(pfn) == PageState.Zero)
                _ = pfn < kdx.MaxMapnr ? qemuZeroBelow++ : qemuZeroRom++;
        Assert.Equal(qemuZeroBelow, a.CountPages().Zero);
        Assert.Equal(b.CountPages().Zero, qemuZeroBelow + qemuZeroRom);
    }

    private static void AssertSame(string what, byte[] kdx, byte[] peer, ulong maxMapnr)
    {
        var (extra, extraFirst) = KdumpBitmaps.Difference(kdx, peer, maxMapnr);
        var (missing, missingFirst) = KdumpBitmaps.Difference(peer, kdx, maxMapnr);
        Assert.True(extra == 0 && missing == 0,
            $"{what} bitmap: kdx sets {extra} pfns the peer does not ({string.Join(' ', extraFirst.Select(p => $"0x{p:x}"))}), and clears {missing} it sets ({string.Join(' ', missingFirst.Select(p => $"0x{p:x}"))})");
    }
}
