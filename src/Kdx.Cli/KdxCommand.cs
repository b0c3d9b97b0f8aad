// Base of every kdx command: one class per command, its name and help next to its code.
using System.CommandLine;

namespace Kdx.Cli;

public abstract class KdxCommand
{
    /// <summary>Builds the System.CommandLine command, with its options and action.</summary>
    public abstract Command Build();
}
