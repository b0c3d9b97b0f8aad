// `kdx info`, `kdx verify` and `kdx rd` run through KdxProgram.Run on synthetic dump files: their output, and
// one-line errors with exit code 2 for files that are bad.
using Kdx.Dump.Compression;
using Kdx.Dump.Tests.Synthetic;
using Kdx.Kernel.Tests.Arch;

namespace Kdx.Cli.Tests;

public sealed class DumpCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kdx-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "empty", [], "the file is empty" },
        { "gz", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], "gzip-compressed file" },
        { "savevm", "QEVM\0\0\0\u0003"u8.ToArray(), "QEMU savevm" },
        { "truncated-kdump", KdumpWriter.Write(SyntheticMachine.Sample()).AsSpan(0, 6000).ToArray(), "kdump" },
        { "short-elf", ElfCoreWriter.Write(SyntheticMachine.Sample()).AsSpan(0, 40).ToArray(), "ELF header" },
        { "text", "just some text\n"u8.ToArray(), "unknown format" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Info_on_a_bad_file_is_one_line_and_exit_2(string name, byte[] bytes, string expected) =>
        BadFileIsOneLineAndExit2("info", name, bytes, expected);

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Verify_on_a_bad_file_is_one_line_and_exit_2(string name, byte[] bytes, string expected) =>
        BadFileIsOneLineAndExit2("verify", name, bytes, expected);

    private void BadFileIsOneLineAndExit2(string command, string name, byte[] bytes, string expected)
    {
        var path = File(name, bytes);
        var (code, _, err) = Run(command, path);
        Assert.Equal(2, code);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith($"kdx: {path}: offset 0x", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public void Rd_on_a_bad_file_is_one_line_and_exit_2()
    {
        var path = File("bad", [0x28, 0xb5, 0x2f, 0xfd, 0, 0]);
        var (code, _, err) = Run("rd", path, "ffffffff81000000");
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Contains("zstd-compressed file", err);
    }

    [Fact]
    public void Missing_file_is_a_usage_error()
    {
        var (code, _, err) = Run("info", Path.Combine(_dir, "nope"));
        Assert.Equal(1, code);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Info_describes_a_kdump_file()
    {
        var path = File("dump", KdumpWriter.Write(SyntheticMachine.Sample(), new KdumpOptions { Method = KdumpFlags.Lzo }));
        var (code, o, err) = Run("info", path, "--vmcoreinfo");
        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Contains("format:        kdump-compressed v6\n", o);
        Assert.Contains("compression:   lzo\n", o);
        Assert.Contains("dump level:    31\n", o);
        Assert.Contains("incomplete:    no\n", o);
        Assert.Contains("pages:         present 39, zero 2, excluded 3, hole 20, lost 0\n", o);
        Assert.Contains("osrelease:     6.1.0-test-amd64\n", o);
        Assert.Contains("crashtime:     2025-11-23 02:30:00 UTC (1763865000)\n", o);
        Assert.Contains("cpus:          2 (NT_PRSTATUS notes)\n", o);
        Assert.Contains("  cpu 0   pid 1234    ip ffffffff81000010", o);
        Assert.Contains("\nKERNELOFFSET=1000000\n", o);
    }

    [Fact]
    public void Info_shows_the_paging_of_the_dumped_kernel()
    {
        var k = new SyntheticKernel(5);
        var path = File("kernel5", ElfCoreWriter.Write(k.Machine));
        var (code, o, _) = Run("info", path);
        Assert.Equal(0, code);
        Assert.Contains($"paging:        5-level, KASLR offset 0x{SyntheticKernel.KernelOffset:x}, direct map 0x{k.DirectMap:x}\n", o);
        // A dump whose VMCOREINFO lacks the page-table root still gets described.
        path = File("noroot", KdumpWriter.Write(SyntheticMachine.Sample()));
        (code, o, _) = Run("info", path);
        Assert.Equal(0, code);
        Assert.Contains("paging:        unknown (", o);
    }

    [Fact]
    public void Info_reads_a_split_set_and_flags_an_incomplete_dump()
    {
        var m = SyntheticMachine.Sample();
        var a = File("a", KdumpWriter.Write(m, new KdumpOptions { Split = (0, 30) }));
        var b = File("b", KdumpWriter.Write(m, new KdumpOptions { Split = (30, 64), WrittenPages = 2 }));
        var (code, o, _) = Run("info", a, b);
        Assert.Equal(0, code);
        Assert.Contains("split into 2 files", o);
        Assert.Contains("incomplete:    YES", o);
    }

    [Fact]
    public void Verify_reads_every_page_of_an_intact_dump()
    {
        var path = File("intact", KdumpWriter.Write(SyntheticMachine.Sample(), new KdumpOptions { Method = KdumpFlags.Lzo }));
        var (code, o, err) = Run("verify", path, "-j", "2");
        Assert.Equal(("", 0), (err, code));
        Assert.Contains("format:      kdump-compressed v6, lzo, dump level 31\n", o);
        Assert.Contains("pages:       39 read whole (0.2 MiB from ", o);
        Assert.Contains("zero 2, excluded 3, hole 20, lost 0\n", o);
        Assert.Contains("damaged:     0\n", o);
        Assert.EndsWith("result:      OK: every stored page reads back as a whole page\n", o);
        (code, o, _) = Run("verify", path, "--quiet");
        Assert.Equal((0, ""), (code, o));
    }

    [Fact]
    public void Verify_lists_damaged_pages_and_exits_2()
    {
        var bytes = KdumpWriter.Write(SyntheticMachine.Sample(), new KdumpOptions { Method = KdumpFlags.Zlib });
        // The last page's data is at the end of the file: flip its last bytes (the zlib checksum).
        bytes[^1] ^= 0xff;
        bytes[^2] ^= 0xff;
        var path = File("damaged", bytes);
        var (code, o, err) = Run("verify", path, "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("damaged:     1\n  pfn 0x2f: " + path + ": offset 0x", o);
        Assert.Contains("result:      DAMAGED", o);
        var line = Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"kdx: {path}: offset 0x", line);
        Assert.EndsWith("(pfn 0x2f; 1 damaged pages in all)", line);
    }

    [Fact]
    public void Verify_of_an_incomplete_dump_exits_3()
    {
        var path = File("cut", KdumpWriter.Write(SyntheticMachine.Sample(), new KdumpOptions { WrittenPages = 10 }));
        var (code, o, err) = Run("verify", path);
        Assert.Equal(3, code);
        Assert.Contains("lost 31\n", o);
        Assert.Contains("result:      INCOMPLETE", o);
        Assert.Equal($"kdx: {path}: the dump is incomplete (31 pages lost: the writer was cut short)\n", err);
        Assert.Equal(1, Run("verify", path, "-j", "0").Code);
    }

    [Fact]
    public void Rd_prints_like_crash()
    {
        var k = new SyntheticKernel(4);
        var path = File("kernel", KdumpWriter.Write(k.Machine, new KdumpOptions { Method = KdumpFlags.Zlib }));
        var (code, o, err) = Run("rd", path, $"{k.LinuxBanner:x}", "-N", "3");
        Assert.Equal("", err);
        Assert.Equal(0, code);
        var a = k.LinuxBanner;
        Assert.Equal(
            $"{a:x16}:  65762078756e694c 2e36206e6f697372   Linux version 6.\n" +
            $"{a + 16:x16}:  746e79732d302e31                    1.0-synt\n", o);

        // A symbol (here from VMCOREINFO), crash's option spellings and COUNT after the address.
        (code, o, _) = Run("rd", path, "-16", "init_uts_ns", "9", "-x");
        Assert.Equal(0, code);
        Assert.Equal(Run("rd", path, $"{k.InitUtsNs:x}", "--16", "-N", "9", "--no-ascii").Out, o);
        Assert.Matches($"^{k.InitUtsNs:x16}:  [0-9a-f]{{4}}( [0-9a-f]{{4}}){{7}}\n{k.InitUtsNs + 16:x16}:  [0-9a-f]{{4}}\n$", o);

        (code, o, _) = Run("rd", path, $"0x{k.LinuxBanner:x}", "--32", "-N", "5");
        Assert.Equal(0, code);
        Assert.Equal(
            $"{a:x16}:  756e694c 65762078 6f697372 2e36206e   Linux version 6.\n" +
            $"{a + 16:x16}:  2d302e31                              1.0-\n", o);
    }

    [Fact]
    public void Rd_physical_bytes_and_absent_pages()
    {
        var m = SyntheticMachine.Sample();
        var path = File("phys", KdumpWriter.Write(m));
        var (code, o, _) = Run("rd", path, "7000", "--phys", "--8", "-N", "4");
        Assert.Equal(0, code);
        var p = m.Pages[7];
        // crash right-aligns the address in 16 columns.
        Assert.Equal($"            7000:  {p[0]:x2} {p[1]:x2} {p[2]:x2} {p[3]:x2}", o.Split('\n')[0][..30]);

        (code, _, var err) = Run("rd", path, "a000", "--phys");
        Assert.Equal(2, code);
        Assert.Equal("kdx: physical address 0xa000: page excluded from dump\n", err);
    }

    [Fact]
    public void Rd_rejects_bad_arguments()
    {
        var path = File("any", KdumpWriter.Write(SyntheticMachine.Sample()));
        // Not hex, so a symbol: not in VMCOREINFO, and this dump has no kallsyms to look in.
        var (code, _, err) = Run("rd", path, "xyz");
        Assert.Equal(2, code);
        Assert.StartsWith("kdx: rd: 'xyz' is not a hex address, and the dump's kallsyms cannot be read: ", err);
        Assert.Equal(1, Run("rd", path, "0", "5", "-N", "5").Code);
        Assert.Equal(1, Run("rd", path, "0", "-16", "-64").Code);
        Assert.Equal(1, Run("rd", path, "0", "--8", "--32").Code);
        Assert.Equal(1, Run("rd", path, "0", "-N", "0").Code);
    }

    [Fact]
    public void Help_lists_both_commands()
    {
        var (code, o, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("info", o);
        Assert.Contains("rd", o);
        (code, o, _) = Run("info", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--vmcoreinfo", o);
    }
}
