// `kdx nmi`: the userspace side of nmimgr (discover codes, known vendor codes, write the policy, show the state).
using System.CommandLine;

namespace Kdx.Cli.Commands;

public sealed class NmiCommand : KdxCommand
{
    public override Command Build()
    {
        var nmi = new Command("nmi", "NMI policy with the nmimgr module: find event codes, write its configuration, show its state.");
        nmi.Subcommands.Add(new NmiDiscoverCommand().Build());
        nmi.Subcommands.Add(new NmiVendorsCommand().Build());
        nmi.Subcommands.Add(new NmiConfigCommand().Build());
        nmi.Subcommands.Add(new NmiStatusCommand().Build());
        return nmi;
    }

    /// <summary>The --root option shared by the subcommands that look at a machine.</summary>
    internal static Option<string> RootOption(string what) => new("--root")
    {
        Description = $"Directory standing for / when {what} (default: /).",
        DefaultValueFactory = _ => "/",
    };
}
