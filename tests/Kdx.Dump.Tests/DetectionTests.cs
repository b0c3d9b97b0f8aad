// Formats are recognised from bytes, and files that are not dumps are named for what they are.
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class DetectionTests
{
    public static TheoryData<byte[], string> NotDumps => new()
    {
        { [0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "gzip-compressed file; decompress it first" },
        { [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0, 0, 4], "xz-compressed file; decompress it first" },
        { [0x28, 0xb5, 0x2f, 0xfd, 0x24, 0], "zstd-compressed file; decompress it first" },
        { "BZh91AY&SY"u8.ToArray(), "bzip2-compressed" },
        { "QEVM\0\0\0\u0003"u8.ToArray(), "QEMU savevm" },
        { "DISKDUMP"u8.ToArray(), "old diskdump" },
        { "hello world, this is text"u8.ToArray(), "unknown format" },
        { [], "the file is empty" },
    };

    [Theory]
    [MemberData(nameof(NotDumps))]
    public void Non_dumps_are_named(byte[] bytes, string expected)
    {
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.Open(bytes, "x"));
        Assert.Contains(expected, e.Message);
        Assert.Equal(0, e.Offset);
    }

    [Fact]
    public void Elf_that_is_not_a_core_is_named()
    {
        var elf = ElfCoreWriter.Write(SyntheticMachine.Sample());
        elf[16] = 2; // ET_EXEC: a vmlinux
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.Open(elf, "vmlinux"));
        Assert.Contains("ELF file that is not a core", e.Message);
    }

    [Fact]
    public void Detection_ignores_the_file_name()
    {
        var m = SyntheticMachine.Sample();
        using var a = TestDumps.Open(KdumpWriter.Write(m), "vmcore.elf");
        Assert.Equal(DumpFormat.KdumpCompressed, a.Format);
        using var b = TestDumps.Open(ElfCoreWriter.Write(m), "dump.kdump");
        Assert.Equal(DumpFormat.ElfCore, b.Format);
    }

    [Fact]
    public void Reads_a_real_file_through_the_memory_map()
    {
        var m = SyntheticMachine.Sample();
        var path = Path.Combine(Path.GetTempPath(), $"kdx-test-{Guid.NewGuid():n}.kdump");
        File.WriteAllBytes(path, KdumpWriter.Write(m, new KdumpOptions { Method = Compression.KdumpFlags.Zstd }));
        try
        {
            using var dump = DumpFile.Open(path);
            Assert.Equal([path], dump.Paths);
            TestDumps.AssertMatches(m, dump, zeroPagesShared: true);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
