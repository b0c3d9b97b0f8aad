namespace Kdx.Cli.Tests;

public class RootCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    [Fact]
    public void VersionAndHelp()
    {
        var v = Run("--version");
        Assert.Equal(0, v.Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", v.Out);
        var h = Run("--help");
        Assert.Equal(0, h.Code);
        Assert.Contains("kdx", h.Out);
    }

    [Fact]
    public void EveryCommandHasHelp()
    {
        foreach (var c in KdxProgram.BuildRoot().Subcommands)
        {
            var r = Run(c.Name, "--help");
            Assert.True(r.Code == 0, $"kdx {c.Name} --help exited {r.Code}: {r.Err}");
            Assert.False(string.IsNullOrWhiteSpace(c.Description), $"kdx {c.Name} has no description");
            Assert.Contains(c.Name, r.Out);
        }
    }

    [Fact]
    public void UnknownCommandIsAUsageError()
    {
        var r = Run("no-such-command");
        Assert.Equal(1, r.Code);
        Assert.NotEmpty(r.Err);
    }
}
