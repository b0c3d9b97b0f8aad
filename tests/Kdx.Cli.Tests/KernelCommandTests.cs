// `kdx log` and `kdx sym` on the crash lab's real dumps: the log is byte-identical to crash's
// and makedumpfile's, symbols resolve as the dump's kallsyms say; bad input is one line, exit 2.
using Kdx.Kernel.Tests.Support;

namespace Kdx.Cli.Tests;

public sealed class KernelCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    /// <summary>The lab's sysrq kdump (built on first use) and makedumpfile's log of it.</summary>
    private static (string Dump, string Golden) CaptureWithGolden()
    {
        var lab = LabDumps.Lab("sysrq-kdump");
        var golden = Path.Combine(lab.Directory, "makedumpfile-dmesg.txt");
        Assert.True(File.Exists(golden), $"{golden}: the lab wrote no makedumpfile log for this scenario");
        return (lab.Dump("kdump-mdf-l-d31"), golden);
    }

    [Fact]
    public void LogPrintsWhatMakedumpfileAndCrashPrint()
    {
        var (dump, golden) = CaptureWithGolden();
        var (code, output, err) = Run("log", dump);
        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Equal(File.ReadAllText(golden, System.Text.Encoding.Latin1), output);
        var (_, withLevels, _) = Run("log", "-m", dump);
        Assert.Contains("] <0>Kernel panic - not syncing: ", withLevels); // panic() prints at KERN_EMERG
        var (_, human, _) = Run("log", "-T", dump);
        Assert.Matches(@"^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\] Linux version", human);
    }

    [Fact]
    public void SymResolvesNamesAndAddresses()
    {
        var (dump, _) = CaptureWithGolden();
        var (code, output, _) = Run("sym", dump, "panic");
        Assert.Equal(0, code);
        var address = output.Split(' ')[0];
        Assert.EndsWith(" (T) panic\n", output);
        var (code2, resolved, _) = Run("sym", dump, "0x" + (Convert.ToUInt64(address, 16) + 0x10).ToString("x"));
        Assert.Equal(0, code2);
        Assert.Contains("(T) panic+0x10/0x", resolved);
        var (code3, missing, _) = Run("sym", dump, "no_such_symbol_here");
        Assert.Equal(1, code3);
        Assert.Contains("no such symbol", missing);
    }

    [Fact]
    public void LogOnABadFileIsOneLineAndExit2()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "just text\n");
            var (code, _, err) = Run("log", path);
            Assert.Equal(2, code);
            Assert.Single(err.TrimEnd('\n').Split('\n'));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
