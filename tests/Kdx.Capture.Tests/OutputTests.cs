// Output paths other than a plain file: the flattened stream (-F) as makedumpfile -R rebuilds it,
// and a disk that fills up mid-dump (a valid, readable file marked incomplete).
using Kdx.Dump;
using Kdx.Dump.Compression;

namespace Kdx.Capture.Tests;

public class OutputTests
{
    [Fact]
    public void Flattened_RebuildsToTheSameBytesAsThePlainFile()
    {
        var flat = CaptureLab.TempPath("kdx-flat");
        using (var source = VmcoreSource.Open(CaptureLab.RawElf))
        using (var sink = new FlattenedSink(File.Create(flat)))
            Assert.False(KdumpWriter.Write(source, sink, new CaptureOptions { Level = DumpLevel.All, Compression = KdumpFlags.Lzo }).Incomplete);
        var rebuilt = CaptureLab.RebuiltByMakedumpfile(flat);
        Assert.True(File.ReadAllBytes(CaptureLab.Kdx("raw-elf", 31, KdumpFlags.Lzo)).AsSpan().SequenceEqual(File.ReadAllBytes(rebuilt)));
        using var dump = DumpFile.Open(flat);
        Assert.True(dump.IsFlattened);
        Assert.Equal(31, dump.DumpLevel);
    }

    [Fact]
    public void Elf_HoldsExactlyTheKeptPages_AndMakedumpfileReadsIt()
    {
        var elf = CaptureLab.TempPath("kdx-elf-31");
        using (var source = VmcoreSource.Open(CaptureLab.RawElf))
        using (var sink = new FileSink(elf))
            Assert.False(ElfWriter.Write(source, sink, new CaptureOptions { Level = DumpLevel.All }).Incomplete);
        var kdump = KdumpBitmaps.Read(CaptureLab.Kdx("raw-elf", 31, KdumpFlags.Lzo));
        using (var dump = DumpFile.Open(elf))
        using (var input = VmcoreSource.Open(CaptureLab.RawElf))
        {
            Assert.Equal(DumpFormat.ElfCore, dump.Format);
            var expected = new byte[dump.PageSize];
            var actual = new byte[dump.PageSize];
            for (ulong pfn = 0; pfn < input.MaxMapnr; pfn++)
            {
                var state = dump.GetPageState(pfn);
                // ELF keeps zero pages as data, so its pages are those of the 2nd bitmap (zero pages are set there too).
                Assert.True(state == PageState.Present == KdumpBitmaps.Bit(kdump.Second, pfn), $"pfn 0x{pfn:x}: {state}");
                Assert.True(state != PageState.Excluded || KdumpBitmaps.Bit(kdump.First, pfn), $"pfn 0x{pfn:x} excluded but not RAM");
                if (state != PageState.Present)
                    continue;
                input.ReadPage(pfn, expected);
                dump.Read(pfn * (ulong)dump.PageSize, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"pfn 0x{pfn:x}");
            }
        }
        var text = CaptureLab.TempPath("dmesg-kdx-elf.txt");
        var reference = CaptureLab.TempPath("dmesg-input-elf.txt");
        File.Delete(text);
        File.Delete(reference);
        var a = CaptureLab.Run("makedumpfile", "--dump-dmesg", elf, text);
        var b = CaptureLab.Run("makedumpfile", "--dump-dmesg", CaptureLab.RawElf, reference);
        Assert.True(a.Code == 0 && b.Code == 0, a.Output + b.Output);
        Assert.Equal(File.ReadAllText(reference), File.ReadAllText(text));
    }

    [Fact]
    public void FullDisk_LeavesAReadableDumpMarkedIncomplete()
    {
        var mount = CaptureLab.TempPath("small-disk");
        Directory.CreateDirectory(mount);
        var (code, output) = CaptureLab.Run("mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", mount);
        Assert.True(code == 0, $"mounting a tmpfs needs root: {output}");
        try
        {
            var path = Path.Combine(mount, "vmcore");
            CaptureResult result;
            using (var source = VmcoreSource.Open(CaptureLab.RawElf))
            using (var sink = new FileSink(path))
                result = KdumpWriter.Write(source, sink, new CaptureOptions { Level = DumpLevel.All, Compression = KdumpFlags.Lzo });
            Assert.True(result.Incomplete);
            Assert.Contains("space", result.Failure, StringComparison.OrdinalIgnoreCase);
            Assert.True(result.WrittenPages > 0 && result.WrittenPages < result.DumpablePages);

            // Read a copy: the reader maps the file, and a read fault on a hole of a full tmpfs
            // needs a page the tmpfs no longer has (SIGBUS); read() returns zeros for holes.
            var copy = CaptureLab.TempPath("incomplete-copy");
            File.Copy(path, copy, overwrite: true);
            using var dump = DumpFile.Open(copy);
            Assert.True(dump.IsIncomplete);
            var counts = dump.CountPages();
            Assert.True(counts.Lost > 0, "pages past the failure read as lost");
            using var input = VmcoreSource.Open(CaptureLab.RawElf);
            var expected = new byte[dump.PageSize];
            var actual = new byte[dump.PageSize];
            ulong read = 0;
            for (ulong pfn = 0; pfn < input.MaxMapnr; pfn++)
            {
                if (!dump.GetPageState(pfn).IsReadable())
                    continue;
                input.ReadPage(pfn, expected);
                dump.Read(pfn * (ulong)dump.PageSize, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"pfn 0x{pfn:x}");
                read++;
            }
            Assert.Equal(result.WrittenPages, read);
        }
        finally
        {
            CaptureLab.Run("umount", mount);
        }
    }
}
