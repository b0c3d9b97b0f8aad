// The kdx executable: builds the command tree and turns expected failures into one-line errors.
using System.CommandLine;
using Kdx.Cli;
using Kdx.Cli.Commands;
using Kdx.Dump;
using Kdx.Kernel.Memory;

return KdxProgram.Run(args, Console.Out, Console.Error);

public static class KdxProgram
{
    /// <summary>Every command kdx has; each is one class under Commands/.</summary>
    public static IReadOnlyList<KdxCommand> Commands() =>
    [
        new InfoCommand(),
        new VerifyCommand(),
        new RdCommand(),
        new LogCommand(),
        new SymCommand(),
        new SysCommand(),
        new PsCommand(),
        new ModCommand(),
        new KmemCommand(),
        new StructCommand(),
        new BtCommand(),
        new DisCommand(),
        new TriageCommand(),
        new DoctorCommand(),
        new NmiCommand(),
        new CaptureCommand(),
    ];

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("kdx: Linux kernel crash dumps, from NMI policy to capture to root cause, no debuginfo needed.");
        foreach (var c in Commands())
            root.Subcommands.Add(c.Build());
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return BuildRoot().Parse(args).Invoke(config);
        }
        catch (Exception e)
        {
            return Report(e, stderr);
        }
    }

    /// <summary>Maps an exception to one line on stderr and an exit code; unknown ones keep their trace.</summary>
    public static int Report(Exception e, TextWriter stderr)
    {
        switch (e)
        {
            case UsageException u:
                stderr.WriteLine($"kdx: {u.Message}");
                return u.ExitCode;
            case DumpFormatException d:
                stderr.WriteLine($"kdx: {d.Message}");
                return ExitCodes.BadInput;
            case PageNotInDumpException or UnmappedAddressException:
                stderr.WriteLine($"kdx: {e.Message}");
                return ExitCodes.BadInput;
            case FileNotFoundException f:
                stderr.WriteLine($"kdx: {f.FileName ?? f.Message}: no such file");
                return ExitCodes.Usage;
            case UnauthorizedAccessException or IOException:
                stderr.WriteLine($"kdx: {e.Message}");
                return ExitCodes.BadInput;
            default:
                stderr.WriteLine($"kdx: internal error: {e}");
                return 70;
        }
    }
}
