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
}
