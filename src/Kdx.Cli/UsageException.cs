// An expected user error (bad arguments, a missing file): one line on stderr, no stack trace.
namespace Kdx.Cli;

public sealed class UsageException(string message, int exitCode = ExitCodes.Usage) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class ExitCodes
{
    public const int Ok = 0;
    public const int Usage = 1;
    public const int BadInput = 2;

    /// <summary>
    /// The output is printed but incomplete: something it needs is not in the dump (a page the dump
    /// level excluded, a hole, a page an incomplete dump lost). stderr says what, one line each.
    /// </summary>
    public const int Incomplete = 3;
}
