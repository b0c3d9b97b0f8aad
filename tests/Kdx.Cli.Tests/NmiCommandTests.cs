// Tests for the `kdx nmi` commands end to end through KdxProgram.Run: output, exit codes, files written under --root.
namespace Kdx.Cli.Tests;

public sealed class NmiCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kdx-nmi-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Code, string Out, string Err) Kdx(params string[] args) => KdxInProcess.Run(args);

    private string Conf => Path.Combine(_root, "etc/modprobe.d/nmimgr.conf");

    [Fact]
    public void Config_is_a_dry_run_by_default()
    {
        var (code, stdout, _) = Kdx("nmi", "config", "--panic", "40,41,56,57", "--drop", "32,48", "--root", _root);
        Assert.Equal(0, code);
        Assert.Contains("dry run", stdout);
        Assert.Contains("options nmimgr events_drop=32,48 events_panic=40-41,56-57", stdout);
        Assert.Contains("nmimgr.events_drop=32,48 nmimgr.events_panic=40-41,56-57", stdout);
        Assert.False(File.Exists(Conf));
        Assert.Empty(Directory.GetFileSystemEntries(_root));
        Assert.DoesNotContain("note:", stdout);
    }

    [Fact]
    public void Config_notes_codes_listed_without_their_toggle_bit_partner()
    {
        var (code, stdout, _) = Kdx("nmi", "config", "--panic", "33", "--root", _root);
        Assert.Equal(0, code);
        Assert.Contains("note: bit 0x10", stdout);
        Assert.Contains("33 (0x21) without 49 (0x31)", stdout);
    }

    [Fact]
    public void Config_write_installs_the_file_under_the_root()
    {
        var (code, stdout, _) = Kdx("nmi", "config", "--panic", "0", "--ignore", "16-20", "--write", "--root", _root);
        Assert.Equal(0, code);
        Assert.Contains($"wrote {Conf}", stdout);
        Assert.Contains("options nmimgr events_ignore=16-20 events_panic=0\n", File.ReadAllText(Conf));

        // A second write replaces the first.
        Assert.Equal(0, Kdx("nmi", "config", "--panic", "1", "--write", "--root", _root).Code);
        Assert.Contains("options nmimgr events_panic=1\n", File.ReadAllText(Conf));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(Conf)!));
    }

    [Theory]
    [InlineData("1-")]
    [InlineData("300")]
    [InlineData("a,b")]
    [InlineData("5-3")]
    public void Config_rejects_malformed_lists_and_writes_nothing(string list)
    {
        var (code, _, stderr) = Kdx("nmi", "config", "--panic", list, "--write", "--root", _root);
        Assert.Equal(1, code);
        Assert.StartsWith("kdx: invalid NMI code list", stderr);
        Assert.Contains("events_panic", stderr);
        Assert.False(File.Exists(Conf));
    }

    [Fact]
    public void Config_rejects_a_code_in_two_lists()
    {
        var (code, _, stderr) = Kdx("nmi", "config", "--panic", "40-48", "--drop", "48", "--root", _root);
        Assert.Equal(1, code);
        Assert.Contains("code 48 (0x30) is in both events_drop and events_panic", stderr);
    }

    [Fact]
    public void Config_refuses_to_write_through_a_symlinked_directory()
    {
        var outside = Directory.CreateTempSubdirectory("kdx-nmi-outside-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(_root, "etc"));
            Directory.CreateSymbolicLink(Path.Combine(_root, "etc/modprobe.d"), outside);
            var (code, _, stderr) = Kdx("nmi", "config", "--panic", "1", "--write", "--root", _root);
            Assert.Equal(2, code);
            Assert.Contains("symbolic link", stderr);
            Assert.Empty(Directory.GetFileSystemEntries(outside));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Discover_prints_a_table_from_a_log_file()
    {
        var log = Path.Combine(_root, "dmesg.txt");
        File.WriteAllLines(log,
        [
            "[   12.345678] nmimgr: Handling new NMI type:1 event:0x21 (33)",
            "[   12.345690] nmimgr: Unmanaged NMI event 0x21 (33), let it pass",
            "[   12.345702] Uhhuh. NMI received for unknown reason 31 on CPU 0.",
            "[   12.345710] Dazed and confused, but trying to continue",
            "[   40.000000] Uhhuh. NMI received for unknown reason 30 on CPU 1.",
        ]);
        var (code, stdout, _) = Kdx("nmi", "discover", "--dmesg", log);
        Assert.Equal(0, code);
        var lines = stdout.Split('\n');
        Assert.Matches(@"^code\s+hex\s+count\s+first seen\s+last seen\s+source\s+nmimgr\s+kernel printed$", lines[0]);
        Assert.Matches(@"^\s*33\s+0x21\s+1\s+12\.345678\s+12\.345678\s+nmimgr\+kernel-unknown\s+passed\s+0x31$", lines[1]);
        Assert.Matches(@"^\s*48\s+0x30\s+1\s+40\.000000\s+40\.000000\s+kernel-unknown\s+-\s+-$", lines[2]);
        Assert.Contains("2 code(s), 2 event(s); as a list: 33,48", stdout);
        Assert.Contains("list both variants: 32-33,48-49", stdout);
    }

    [Fact]
    public void Discover_on_a_missing_file_is_a_usage_error()
    {
        var (code, _, stderr) = Kdx("nmi", "discover", "--dmesg", Path.Combine(_root, "nope"));
        Assert.Equal(1, code);
        Assert.Contains("no such file", stderr);
    }

    [Fact]
    public void Vendors_matches_the_machine_under_the_root()
    {
        Directory.CreateDirectory(Path.Combine(_root, "sys/class/dmi/id"));
        File.WriteAllText(Path.Combine(_root, "sys/class/dmi/id/sys_vendor"), "HPE\n");
        File.WriteAllText(Path.Combine(_root, "sys/class/dmi/id/product_name"), "ProLiant DL360 Gen9\n");
        var (code, stdout, _) = Kdx("nmi", "vendors", "--root", _root);
        Assert.Equal(0, code);
        Assert.Contains("IBM iDataPlex", stdout);
        Assert.Contains("this machine: HPE ProLiant DL360 Gen9", stdout);
        Assert.Contains("matches HP ProLiant BL/ML/DL Gen8, Gen9 (nmimgr 0.4 setup.sh): 39,43", stdout);
        Assert.Contains("kdx nmi config --panic 39,43", stdout);
    }

    [Fact]
    public void Status_shows_parameters_counters_and_sysctls()
    {
        void Put(string rel, string text)
        {
            var full = Path.Combine(_root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        Put("sys/module/nmimgr/parameters/events_panic", "40-41\n");
        Put("sys/module/nmimgr/parameters/events_drop", "\n");
        Put("sys/module/nmimgr/parameters/counters", "33 4\n");
        Put("proc/sys/kernel/unknown_nmi_panic", "0\n");
        Put("sys/kernel/kexec_crash_loaded", "0\n");
        var (code, stdout, _) = Kdx("nmi", "status", "--root", _root);
        Assert.Equal(0, code);
        Assert.Contains("nmimgr: loaded", stdout);
        Assert.Contains("events_panic: 40-41", stdout);
        Assert.Contains("events_drop: (empty)", stdout);
        Assert.Matches(@"\n\s+33\s+0x21\s+4\n", stdout);
        Assert.Contains("unknown_nmi_panic = 0", stdout);
        Assert.Contains("panic_on_io_nmi = (not present)", stdout);
        Assert.Contains("note: events_panic is set but no crash kernel is loaded", stdout);
    }
}
