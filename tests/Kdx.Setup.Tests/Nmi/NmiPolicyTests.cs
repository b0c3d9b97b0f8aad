// Tests for nmimgr's policy: overlap rejection, the modprobe.d and command-line forms, and atomic, root-contained writing.
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiPolicyTests
{
    [Fact]
    public void Modprobe_conf_lists_non_empty_lists_in_module_order()
    {
        var p = NmiPolicy.Parse(ignore: null, drop: "48,32", panic: "40,41,56,57");
        var conf = p.ModprobeConf();
        Assert.Contains("options nmimgr events_drop=32,48 events_panic=40-41,56-57\n", conf);
        Assert.DoesNotContain("events_ignore", conf);
        Assert.Equal("nmimgr.events_drop=32,48 nmimgr.events_panic=40-41,56-57", p.KernelCommandLine());
    }

    [Fact]
    public void Written_lists_parse_back_to_the_same_sets()
    {
        var p = NmiPolicy.Parse("0", "1-8:2/4", "all:1/100");
        var line = p.ModprobeConf().Split('\n').Single(l => l.StartsWith("options", StringComparison.Ordinal));
        var values = line.Split(' ').Skip(2).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        Assert.Equal(p.Ignore, NmiCodeList.Parse(values["events_ignore"]));
        Assert.Equal(p.Drop, NmiCodeList.Parse(values["events_drop"]));
        Assert.Equal(p.Panic, NmiCodeList.Parse(values["events_panic"]));
        Assert.Equal("1-2,5-6", values["events_drop"]);
        Assert.Equal("0,100,200", values["events_panic"]);
    }

    [Fact]
    public void Overlap_names_the_code_and_both_lists()
    {
        var p = NmiPolicy.Parse(ignore: "0,16", drop: "32-40", panic: "16,40");
        var overlaps = p.Overlaps();
        Assert.Equal([new NmiOverlap(16, "events_ignore", "events_panic"), new NmiOverlap(40, "events_drop", "events_panic")], overlaps);
        var e = Assert.Throws<NmiPolicyException>(() => p.Validate());
        Assert.Contains("code 16 (0x10) is in both events_ignore and events_panic", e.Message);
        Assert.Contains("code 40 (0x28) is in both events_drop and events_panic", e.Message);
    }

    [Fact]
    public void Bad_list_error_names_the_parameter()
    {
        var e = Assert.Throws<NmiListException>(() => NmiPolicy.Parse(null, "5-3", "1"));
        Assert.Contains("events_drop", e.Message);
        Assert.Equal(NmiListErrorKind.Invalid, e.Error.Kind);
    }

    [Fact]
    public void Write_creates_directories_and_the_file_under_the_root()
    {
        using var root = new TempRoot();
        var w = new RootedFileWriter(root.Path);
        var path = w.WriteAtomically(NmiPolicy.ModprobeConfPath, "options nmimgr events_panic=1\n");
        Assert.Equal(root.Full("etc/modprobe.d/nmimgr.conf"), path);
        Assert.Equal("options nmimgr events_panic=1\n", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(root.Full("etc/modprobe.d")));
    }

    [Fact]
    public void Write_replaces_by_rename_so_an_open_reader_keeps_the_old_content()
    {
        using var root = new TempRoot();
        var path = root.File(NmiPolicy.ModprobeConfPath, "old\n");
        var inodeBefore = new FileInfo(path);
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read);
        new RootedFileWriter(root.Path).WriteAtomically(NmiPolicy.ModprobeConfPath, "new\n");
        Assert.Equal("new\n", File.ReadAllText(path));
        // The open handle still sees the old inode: the file was replaced, not rewritten in place.
        Assert.Equal("old\n", new StreamReader(reader).ReadToEnd());
        Assert.Single(Directory.GetFiles(root.Full("etc/modprobe.d")));
        Assert.True(inodeBefore.Exists);
    }

    [Fact]
    public void Symlinked_directory_on_the_way_is_refused()
    {
        using var root = new TempRoot();
        using var outside = new TempRoot();
        Directory.CreateDirectory(root.Full("etc"));
        Directory.CreateSymbolicLink(root.Full("etc/modprobe.d"), outside.Path);
        var w = new RootedFileWriter(root.Path);
        Assert.Throws<RootContainmentException>(() => w.WriteAtomically(NmiPolicy.ModprobeConfPath, "x\n"));
        Assert.Empty(Directory.GetFileSystemEntries(outside.Path));
    }

    [Fact]
    public void Symlink_in_the_files_place_is_replaced_not_followed()
    {
        using var root = new TempRoot();
        using var outside = new TempRoot();
        var victim = outside.File("victim", "keep\n");
        Directory.CreateDirectory(root.Full("etc/modprobe.d"));
        File.CreateSymbolicLink(root.Full(NmiPolicy.ModprobeConfPath), victim);
        new RootedFileWriter(root.Path).WriteAtomically(NmiPolicy.ModprobeConfPath, "new\n");
        Assert.Equal("keep\n", File.ReadAllText(victim));
        Assert.Null(new FileInfo(root.Full(NmiPolicy.ModprobeConfPath)).LinkTarget);
        Assert.Equal("new\n", File.ReadAllText(root.Full(NmiPolicy.ModprobeConfPath)));
    }

    [Theory]
    [InlineData("../escape.conf")]
    [InlineData("etc/../../escape.conf")]
    [InlineData("/etc/modprobe.d/nmimgr.conf")]
    [InlineData("./etc/x")]
    public void Paths_leaving_the_root_are_refused(string relative)
    {
        using var root = new TempRoot();
        var w = new RootedFileWriter(root.Path);
        Assert.Throws<RootContainmentException>(() => w.WriteAtomically(relative, "x\n"));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(root.Path)!, "escape.conf")));
    }

    [Fact]
    public void Failed_write_leaves_no_temp_file_and_the_old_file()
    {
        using var root = new TempRoot();
        var path = root.File(NmiPolicy.ModprobeConfPath, "old\n");
        // A directory where the file should go makes the rename fail.
        File.Delete(path);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "inside"), "x");
        var w = new RootedFileWriter(root.Path);
        Assert.ThrowsAny<IOException>(() => w.WriteAtomically(NmiPolicy.ModprobeConfPath, "new\n"));
        Assert.Equal(["nmimgr.conf"], Directory.GetFileSystemEntries(root.Full("etc/modprobe.d")).Select(Path.GetFileName));
    }
}
