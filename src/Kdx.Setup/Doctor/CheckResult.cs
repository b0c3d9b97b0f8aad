// What a doctor check reports: a stable id, a status, one line of why, and the fix if there is one.
namespace Kdx.Setup.Doctor;

/// <summary>Ordered by severity: the worst status of a run decides its exit code.</summary>
public enum CheckStatus
{
    Ok,
    /// <summary>Not applicable here (e.g. fadump on x86); never affects readiness.</summary>
    Skip,
    Warn,
    Fail,
}

public sealed record CheckResult(string Id, CheckStatus Status, string Message, Fix? Fix = null)
{
    public static CheckResult Ok(string id, string message) => new(id, CheckStatus.Ok, message);

    public static CheckResult Skip(string id, string message) => new(id, CheckStatus.Skip, message);

    public static CheckResult Warn(string id, string message, Fix? fix = null) => new(id, CheckStatus.Warn, message, fix);

    public static CheckResult Fail(string id, string message, Fix? fix = null) => new(id, CheckStatus.Fail, message, fix);
}

/// <summary>How to repair one finding: a summary and the exact steps, rendered per distro by <see cref="FixRenderer"/>.</summary>
public sealed record Fix(string Summary, IReadOnlyList<FixStep> Steps)
{
    public Fix(string summary, params FixStep[] steps) : this(summary, (IReadOnlyList<FixStep>)steps)
    {
    }
}

public abstract record FixStep;

/// <summary>A command for the administrator to run; kdx never runs it.</summary>
public sealed record RunCommand(string Command) : FixStep;

/// <summary>A sysctl to persist; kdx can write it into its drop-in file (safe to apply).</summary>
public sealed record SetSysctl(string Key, string Value) : FixStep;

/// <summary>A line to put into a configuration file, replacing line <see cref="ReplacesLine"/> when given.</summary>
public sealed record SetConfigLine(string File, string Line, int? ReplacesLine = null) : FixStep;

/// <summary>A kernel command-line parameter for the boot configuration (applied only with --yes).</summary>
public sealed record SetKernelArgument(string Name, string Value) : FixStep
{
    public string Text => $"{Name}={Value}";
}
