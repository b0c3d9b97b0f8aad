// The triage report: what happened (panic class and message), where (CPU, task, backtrace,
// faulting instruction), context (release, uptime, taint, log tail, blocked tasks, memory, CPUs),
// the crash signature and next steps. Sections that could not be read are listed in Unavailable
// with the reason; everything else is still filled in.
namespace Kdx.Triage;

/// <summary>What kind of panic this was. The lowercase name is the JSON/CLI spelling.</summary>
public enum PanicClass
{
    Sysrq,
    Nmi,
    Oops,
    Bug,
    Softlockup,
    Hardlockup,
    HungTask,
    Oom,
    Warn,
    Mce,
    Other,
}

public static class PanicClassNames
{
    public static string Name(PanicClass c) => c switch
    {
        PanicClass.HungTask => "hung_task",
        _ => c.ToString().ToLowerInvariant(),
    };

    public static string Describe(PanicClass c) => c switch
    {
        PanicClass.Sysrq => "crash requested through SysRq",
        PanicClass.Nmi => "non-maskable interrupt",
        PanicClass.Oops => "kernel oops (bad memory access)",
        PanicClass.Bug => "BUG() assertion",
        PanicClass.Softlockup => "soft lockup (CPU stuck in kernel code)",
        PanicClass.Hardlockup => "hard lockup (CPU stuck with interrupts off)",
        PanicClass.HungTask => "hung task (task blocked in D state)",
        PanicClass.Oom => "out of memory",
        PanicClass.Warn => "WARN() with panic_on_warn",
        PanicClass.Mce => "machine check exception (hardware error)",
        _ => "panic",
    };
}

/// <summary>One backtrace frame: function (null when no symbol covers ip), module (null for vmlinux), offset, ip.</summary>
public sealed record ReportFrame(string? Function, string? Module, ulong Offset, ulong Ip, string Stack)
{
    /// <summary>The kernel-mode registers of an exception or interrupt saved above this frame: the code it interrupted follows.</summary>
    public ulong? ExceptionIp { get; init; }
    public string? ExceptionAt { get; init; }

    public string Name => Function ?? $"0x{Ip:x}";
    public string Display => Module is null ? Name : $"{Name} [{Module}]";
}

/// <summary>A task's backtrace as the report shows it.</summary>
public sealed record ReportBacktrace(int Pid, string Comm, ulong Task, int? Cpu, IReadOnlyList<ReportFrame> Frames, string? Problem);

/// <summary>A task, its ps state and its backtrace (or why there is none).</summary>
public sealed record TaskTrace(int Pid, string Comm, ulong Task, string State, ReportBacktrace? Backtrace, string? Problem);

public sealed record CpuTask(int Cpu, int Pid, string Comm, bool Panicked);

public sealed record TaintedModule(string Name, string Letters, IReadOnlyList<string> Words);

public sealed record TaintInfo(ulong Mask, string Letters, IReadOnlyList<string> Words, IReadOnlyList<TaintedModule> Modules);

public sealed record MemorySummary(ulong TotalBytes, ulong FreeBytes, ulong UsedBytes, ulong BufferBytes, ulong CachedBytes, ulong SlabBytes, ulong SwapTotalBytes, ulong SwapFreeBytes);

/// <summary>A section that could not be had, and why (an excluded page, a missing symbol, ...).</summary>
public sealed record Unavailable(string Section, string Reason);

/// <summary>The normalised crash signature: class and the first meaningful frames, and its short hash.</summary>
public sealed record CrashSignature(string Text, IReadOnlyList<string> Frames, string Hash);

/// <summary>The panic's classification: class, verbatim message, a one-line summary, class-specific facts.</summary>
public sealed record PanicClassification(
    PanicClass Class,
    string Message,
    string Summary,
    IReadOnlyList<KeyValuePair<string, string>> Details,
    IReadOnlyList<string> Evidence)
{
    /// <summary>The task the class points at when it is not the panicking one (hung task, OOM victim, soft-locked task).</summary>
    public (int Pid, string Comm)? Culprit { get; init; }

    /// <summary>Faulting address of an oops (CR2 or the BUG line's address).</summary>
    public ulong? FaultAddress { get; init; }

    public string? Detail(string key) => Details.FirstOrDefault(d => d.Key == key).Value;
}

public sealed record TriageReport
{
    public required string DumpFile { get; init; }
    public required PanicClassification Panic { get; init; }
    public int? Cpu { get; init; }
    public int? Pid { get; init; }
    public string? Comm { get; init; }
    public ulong? Task { get; init; }
    public ReportBacktrace? Backtrace { get; init; }

    /// <summary>The backtrace of the task the class points at (the hung task), when it is not the panicking one.</summary>
    public ReportBacktrace? CulpritBacktrace { get; init; }

    /// <summary>ip of the faulting (or interrupted) instruction, and the instructions around it.</summary>
    public ulong? FaultIp { get; init; }
    public string? FaultAt { get; init; }
    public IReadOnlyList<string> Disassembly { get; init; } = [];

    public string? Release { get; init; }
    public string? Version { get; init; }
    public string? NodeName { get; init; }
    public DateTimeOffset? CrashTime { get; init; }
    public double? UptimeSeconds { get; init; }
    public IReadOnlyList<double> LoadAverage { get; init; } = [];
    public int? TaskCount { get; init; }
    public TaintInfo? Taint { get; init; }
    public IReadOnlyList<string> LogTail { get; init; } = [];
    public IReadOnlyList<TaskTrace> BlockedTasks { get; init; } = [];

    /// <summary>Every task's backtrace (crash's `foreach bt`), idle tasks included.</summary>
    public IReadOnlyList<TaskTrace> TaskBacktraces { get; init; } = [];
    public MemorySummary? Memory { get; init; }
    public IReadOnlyList<CpuTask> Cpus { get; init; } = [];
    public required CrashSignature Signature { get; init; }
    public IReadOnlyList<string> NextSteps { get; init; } = [];
    public IReadOnlyList<Unavailable> Unavailable { get; init; } = [];
}
