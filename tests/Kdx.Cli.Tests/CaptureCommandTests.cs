// `kdx capture` end to end through the CLI: option checks, a capture that makedumpfile 1.7.2
// reads, --dump-dmesg text identical to makedumpfile's, and exit code 3 on a full disk.
using Kdx.Lab;

namespace Kdx.Cli.Tests;

public class CaptureCommandTests
{
    private static string RawElf => LabCatalog.Build(LabCatalog.SysrqKdumpRawElf()).Dump("kdump-cat");

    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    private static (int Code, string Output) Tool(string file, params string[] args)
    {
        var r = Kdx.Lab.Sh.Try(file, args); // the lab's process runner: exit code, stdout, stderr
        return (r.ExitCode, r.Stdout + r.Stderr);
    }

    [Theory]
    [InlineData("-d", "32", "in", "out")]
    [InlineData("-c", "-l", "in", "out")]
    [InlineData("-E", "-c", "in", "out")]
    [InlineData("-d", "31", "in")]
    [InlineData("--num-threads", "0", "in", "out")]
    [InlineData("--split", "-l", "in", "out")]
    [InlineData("--split", "-F", "in", "a", "b")]
    [InlineData("--split", "-E", "in", "a", "b")]
    [InlineData("--reassemble", "a", "out")]
    public void BadOptions_AreUsageErrors(params string[] args)
    {
        var r = Run(["capture", .. args]);
        Assert.Equal(1, r.Code);
        Assert.StartsWith("kdx: ", r.Err);
    }

    [Fact]
    public void SplitThenReassemble_GivesBackTheSingleFile_ByteForByte()
    {
        // --split -l -d 31 into three files, then --reassemble: the same pages, level and
        // compression in the same order, so the joined file is the direct capture's bytes.
        var dir = Directory.CreateTempSubdirectory("kdx-cli-split-").FullName;
        try
        {
            var parts = Enumerable.Range(1, 3).Select(i => Path.Combine(dir, $"part.{i}")).ToArray();
            var single = Path.Combine(dir, "single");
            var joined = Path.Combine(dir, "joined");
            var split = Run(["capture", "--split", "-l", "-d", "31", "--message-level", "0", RawElf, .. parts]);
            Assert.True(split.Code == 0, split.Err);
            Assert.Empty(Directory.GetFiles(dir, "*-incomplete"));
            Assert.All(parts, p => Assert.True(new FileInfo(p).Length > 1 << 20, $"{p}: {new FileInfo(p).Length} bytes"));
            var info = Run(["info", .. parts]);
            Assert.Contains("split into 3 files", info.Out);
            Assert.Equal(0, Run(["capture", "--reassemble", "--message-level", "0", .. parts, joined]).Code);
            Assert.Equal(0, Run(["capture", "-l", "-d", "31", "--message-level", "0", RawElf, single]).Code);
            Assert.True(File.ReadAllBytes(single).AsSpan().SequenceEqual(File.ReadAllBytes(joined)), "reassembled file differs from the direct capture");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Capture_WritesAFileMakedumpfileReads_AndNoTempFileRemains()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-capture-cli-").FullName;
        try
        {
            var output = Path.Combine(dir, "vmcore");
            var r = Run("capture", "-l", "-d", "31", "--message-level", "3", RawElf, output);
            Assert.True(r.Code == 0, r.Err);
            Assert.False(File.Exists(output + "-incomplete"));
            // progress as makedumpfile shows it (percent, with the rate and the time left), up to 100 %
            var progress = r.Err.Split('\r', '\n').Where(l => l.StartsWith("Copying data", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(progress);
            Assert.All(progress, l => Assert.Matches(@"^Copying data : \[ *\d+ %\] +\d+\.\d MB/s( eta \d+s)? *$", l));
            Assert.Contains("[100 %]", progress[^1]);
            var (code, text) = Tool("makedumpfile", "--dump-dmesg", output, Path.Combine(dir, "dmesg.txt"));
            Assert.True(code == 0, text);

            var ours = Path.Combine(dir, "kdx-dmesg.txt");
            Assert.Equal(0, Run("capture", "--dump-dmesg", RawElf, ours).Code);
            var (code2, text2) = Tool("makedumpfile", "--dump-dmesg", RawElf, Path.Combine(dir, "mdf-dmesg.txt"));
            Assert.True(code2 == 0, text2);
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "mdf-dmesg.txt")), File.ReadAllText(ours));
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "mdf-dmesg.txt")), File.ReadAllText(Path.Combine(dir, "dmesg.txt")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void FullDisk_ExitsThree_WithAMessage()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-capture-full-").FullName;
        var (mounted, why) = Tool("mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", dir);
        Assert.True(mounted == 0, $"mounting a tmpfs needs root: {why}");
        try
        {
            var r = Run("capture", "-l", "-d", "31", RawElf, Path.Combine(dir, "vmcore"));
            Assert.Equal(3, r.Code);
            Assert.Contains("incomplete", r.Err);
            Assert.Contains("No space left on device", r.Err);
            Assert.True(File.Exists(Path.Combine(dir, "vmcore")));
        }
        finally
        {
            Tool("umount", dir);
            Directory.Delete(dir, true);
        }
    }
}
