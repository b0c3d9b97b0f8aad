// The doctor's parsers on the inputs real machines produce: crashkernel= syntaxes, kdump.conf,
// kdump-tools variables, meminfo, core collectors, os-release, CPU lists and nmimgr lists.
using Kdx.Setup.Doctor;
using Kdx.Setup.Doctor.Checks;

namespace Kdx.Setup.Tests.Doctor;

public sealed class ParserTests
{
    private const long M = SizeText.MiB, G = SizeText.GiB;

    [Theory]
    [InlineData("256M", 8 * G, 256 * M)]
    [InlineData("0x10000000", 8 * G, 256 * M)]
    [InlineData("256M@16M", 8 * G, 256 * M)]
    [InlineData("1G-4G:192M,4G-64G:256M,64G-:512M", 2 * G, 192 * M)]
    [InlineData("1G-4G:192M,4G-64G:256M,64G-:512M", 4 * G, 256 * M)]
    [InlineData("1G-4G:192M,4G-64G:256M,64G-:512M", 64 * G, 512 * M)]
    [InlineData("1G-4G:192M,4G-64G:256M,64G-:512M", 512 * M, 0)]
    [InlineData("512M-2G:64M,2G-:128M@16M", 4 * G, 128 * M)]
    [InlineData("512M,high", 8 * G, 512 * M)]
    [InlineData("256m,low", 8 * G, 256 * M)]
    [InlineData("2G-64G:256M,64G-:512M,high", 16 * G, 256 * M)]
    public void Crashkernel_sizes(string text, long ram, long size)
    {
        var arg = CrashKernelArgument.TryParse(text, out var error);
        Assert.Null(error);
        Assert.Equal(size, arg!.SizeFor(ram));
    }

    [Fact]
    public void Crashkernel_details()
    {
        var a = CrashKernelArgument.TryParse("512M-2G:64M,2G-:128M@16M", out _)!;
        Assert.Equal(16 * M, a.Offset);
        Assert.Equal([new CrashKernelRange(512 * M, 2 * G, 64 * M), new CrashKernelRange(2 * G, null, 128 * M)], a.Ranges);
        Assert.Equal(CrashKernelZone.High, CrashKernelArgument.TryParse("1G,high", out _)!.Zone);
        Assert.True(CrashKernelArgument.TryParse("auto", out _)!.IsAuto);
        Assert.Null(CrashKernelArgument.TryParse("auto", out _)!.SizeFor(G));
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("256X")]
    [InlineData("256M,medium")]
    [InlineData("4G-1G:256M")]
    [InlineData("1G-:")]
    [InlineData("1G:256M")]
    [InlineData("256M@")]
    [InlineData("99999999999999999999G")]
    public void Crashkernel_rejects_garbage(string text)
    {
        Assert.Null(CrashKernelArgument.TryParse(text, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Command_line_takes_last_main_and_low_and_stops_at_double_dash()
    {
        var cmd = KernelCommandLine.Parse("ro quiet \"dyndbg=file x +p\" crashkernel=128M crashkernel=1G,high crashkernel=256M,low -- crashkernel=9G");
        var s = CrashKernelSetting.From(cmd);
        Assert.Equal(G, s.Main!.FixedSize);
        Assert.Equal(256 * M, s.Low!.FixedSize);
        Assert.Contains(("dyndbg", (string?)"file x +p"), cmd.Parameters);
        Assert.True(cmd.Has("quiet"));
    }

    [Fact]
    public void Kdump_conf_with_crlf_comments_and_targets()
    {
        var c = KdumpConfig.ParseRedHat("# comment\r\n\r\next4 UUID=abcd   # trailing\r\npath /crash\r\ncore_collector makedumpfile -c --message-level 7 -d 17\r\nfailure_action shell\r\nfinal_action poweroff\r\nforce_rebuild\r\n");
        Assert.Empty(c.Problems);
        Assert.Equal(new DumpTarget(DumpTargetKind.LocalFilesystem, "/crash", Device: "UUID=abcd", FsType: "ext4"), c.Target);
        Assert.Equal(17, c.Collector.DumpLevel);
        Assert.Equal("zlib", c.Collector.Compression);
        Assert.Equal(5, c.CollectorSetting!.Line);
        Assert.Equal("shell", c.FailureAction!.Value);
        Assert.Equal("poweroff", c.FinalAction!.Value);
    }

    [Fact]
    public void Kdump_conf_problems_are_collected_not_thrown()
    {
        var c = KdumpConfig.ParseRedHat("nfs srv:/export\nssh root@x\npath\nwhat is this\ndefault sleep\ncore_collector makedumpfile -d banana\n");
        Assert.Equal(DumpTargetKind.Ssh, c.Target.Kind);
        Assert.Contains(c.Problems, p => p.Line == 2 && p.Message.Contains("second dump target", StringComparison.Ordinal));
        Assert.Contains(c.Problems, p => p.Line == 3 && p.Message.Contains("no value", StringComparison.Ordinal));
        Assert.Contains(c.Problems, p => p.Line == 4 && p.Message.Contains("unknown directive 'what'", StringComparison.Ordinal));
        Assert.Contains(c.Problems, p => p.Line == 5);
        Assert.Contains(c.Problems, p => p.Line == 6 && p.Message.Contains("banana", StringComparison.Ordinal));
    }

    [Fact]
    public void Kdump_conf_defaults_when_empty()
    {
        var c = KdumpConfig.ParseRedHat("");
        Assert.Equal(new DumpTarget(DumpTargetKind.LocalPath, "/var/crash"), c.Target);
        Assert.Equal(31, c.Collector.DumpLevel);
        Assert.Null(c.CollectorSetting);
        Assert.True(KdumpConfig.ParseRedHat("raw /dev/sdc1\n").Collector.Flattened);
    }

    [Fact]
    public void Kdump_tools_variables()
    {
        var c = KdumpConfig.ParseDebian("USE_KDUMP=1\r\nexport KDUMP_COREDIR='/srv/my crash'\nMAKEDUMP_ARGS=\"-z -d 23\" # zstd\nNFS=\"nfs:/dumps\"\nKDUMP_KEXEC_ARGS=\"-s\"\nbroken line\nX=\"unclosed\n");
        Assert.Equal(new DumpTarget(DumpTargetKind.Nfs, "/srv/my crash", Remote: "nfs:/dumps"), c.Target);
        Assert.Equal(23, c.Collector.DumpLevel);
        Assert.Equal("zstd", c.Collector.Compression);
        Assert.True(c.UsesFileLoad);
        Assert.Equal("1", c.Enabled!.Value);
        Assert.Contains(c.Problems, p => p.Line == 6);
        Assert.Contains(c.Problems, p => p.Line == 7 && p.Message.Contains("quotes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cp --sparse=always", false, null, true)]
    [InlineData("makedumpfile -E -d 31", true, null, true)]
    [InlineData("makedumpfile -l -d31 -F", true, "lzo", false)]
    [InlineData("/usr/sbin/makedumpfile -p", true, "snappy", false)]
    public void Core_collectors(string line, bool makedumpfile, string? compression, bool elf)
    {
        var c = CoreCollector.Parse(line);
        Assert.Equal(makedumpfile, c.IsMakedumpfile);
        Assert.Equal(compression, c.Compression);
        Assert.Equal(elf, c.Elf);
    }

    [Fact]
    public void Meminfo_and_dump_estimates()
    {
        var mem = MemInfo.Parse("MemTotal: 1048576 kB\nMemFree: 262144 kB\nCached: 262144 kB\nBuffers: 0 kB\nAnonPages: 262144 kB\nSlab: 65536 kB\nHugePages_Total: 10\nGarbage line\nBad: x kB\n");
        Assert.Equal(G, mem.MemTotal);
        Assert.Equal(10, mem["HugePages_Total"]);
        Assert.Null(mem["Bad"]);
        Assert.Equal(G, DumpSizeEstimate.For(mem, CoreCollector.Parse("cp")).FileBytes);
        var all = DumpSizeEstimate.For(mem, CoreCollector.Parse("makedumpfile -E -d 0"));
        Assert.Equal(G, all.KeptBytes);
        Assert.Equal(G, all.FileBytes);
        var filtered = DumpSizeEstimate.For(mem, CoreCollector.Parse("makedumpfile -E -d 31"));
        Assert.Equal(256 * M, filtered.KeptBytes);
        var free = DumpSizeEstimate.For(mem, CoreCollector.Parse("makedumpfile -E -d 16"));
        Assert.Equal(768 * M, free.KeptBytes);
        var compressed = DumpSizeEstimate.For(mem, CoreCollector.Parse("makedumpfile -c -d 31"));
        Assert.True(compressed.FileBytes < filtered.FileBytes && compressed.FileBytes >= 128 * M);
    }

    [Theory]
    [InlineData("ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n", DistroFamily.RedHat, 9)]
    [InlineData("ID=fedora\nVERSION_ID=40\n", DistroFamily.RedHat, 40)]
    [InlineData("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"21.3\"\n", DistroFamily.Debian, 21)]
    [InlineData("ID=arch\n", DistroFamily.Unknown, 0)]
    public void Os_release(string text, DistroFamily family, int major)
    {
        var d = Distro.Parse(text);
        Assert.Equal(family, d.Family);
        Assert.Equal(major, d.MajorVersion);
    }

    [Theory]
    [InlineData("0-3", 4)]
    [InlineData("0,2-3,8", 4)]
    [InlineData("0", 1)]
    [InlineData("3-1", null)]
    [InlineData("x", null)]
    public void Cpu_lists(string text, int? count) => Assert.Equal(count, Machine.CountCpuList(text));

    [Theory]
    [InlineData("(null)", new int[0])]
    [InlineData("32,48", new[] { 32, 48 })]
    [InlineData("32-34, 40", new[] { 32, 33, 34, 40 })]
    public void Nmimgr_lists(string text, int[] codes)
    {
        var (parsed, error) = NmimgrParameters.ParseList(text);
        Assert.Null(error);
        Assert.Equal(codes, parsed);
        Assert.NotNull(NmimgrParameters.ParseList("300").Error);
        Assert.NotNull(NmimgrParameters.ParseList("a,b").Error);
    }

    [Fact]
    public void Sizes_print_the_kernel_way_and_for_people()
    {
        Assert.Equal("192M", SizeText.Kernel(192 * M));
        Assert.Equal("1G", SizeText.Kernel(G));
        Assert.Equal("1536M", SizeText.Kernel(1536 * M));
        Assert.Equal("1.5 GiB", SizeText.Human(1536 * M));
        Assert.Equal("512 MiB", SizeText.Human(512 * M));
        Assert.Equal(3L << 40, SizeText.ParseBytes("3t"));
    }

    [Fact]
    public void Fixture_disk_space_table()
    {
        var rows = FixtureDiskSpaceProbe.Parse("# comment\n/ free=10G total=20G\n/var/crash free=1M ro\nrelative free=1G\n/x free=junk\n");
        Assert.Equal(3, rows.Count);
        Assert.Equal(10 * G, rows[0].Space.FreeBytes);
        Assert.True(rows[1].Space.ReadOnly);
        Assert.False(rows[1].Space.Writable);
        Assert.Equal(0, rows[2].Space.FreeBytes);
    }
}
