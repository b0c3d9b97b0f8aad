// sysctl.*: one check per kernel setting that decides whether a failure becomes a dump, each
// saying what its current value means for getting one. The rules are data; the check is one class.
namespace Kdx.Setup.Doctor.Checks;

/// <summary>What a value means: status, the explanation, and the value to propose when it is not ok.</summary>
public sealed record SysctlVerdict(CheckStatus Status, string Meaning, long? Proposed = null);

/// <summary>
/// A sysctl and how to judge its value; <see cref="X86Only"/> rules are skipped elsewhere.
/// <see cref="WhenAbsent"/> judges a kernel built without the setting (default: skip).
/// </summary>
public sealed record SysctlRule(string Key, Func<long, SysctlVerdict> Judge, bool X86Only = false, SysctlVerdict? WhenAbsent = null)
{
    public string ProcPath => "/proc/sys/" + Key.Replace('.', '/');
}

public sealed class SysctlCheck(SysctlRule rule) : IDoctorCheck
{
    public string Id => "sysctl." + rule.Key;

    public CheckResult Run(DoctorContext context)
    {
        if (rule.X86Only && context.Machine.Arch is not ("x86_64" or "i686" or "unknown"))
            return CheckResult.Skip(Id, $"{rule.Key} exists on x86 only");
        var text = context.Fs.ReadLine(rule.ProcPath);
        if (text is null)
        {
            // A visible /proc/sys without the file means this kernel lacks the feature; an invisible one hides it.
            var dir = rule.ProcPath[..rule.ProcPath.LastIndexOf('/')];
            if (context.Fs.List(dir).Count == 0)
                return CheckResult.Warn(Id, $"{rule.ProcPath} is missing: /proc/sys is not visible (container?)");
            return rule.WhenAbsent is { } absent
                ? new CheckResult(Id, absent.Status, $"no {rule.Key} in this kernel: {absent.Meaning}")
                : CheckResult.Skip(Id, $"this kernel has no {rule.Key}");
        }
        var value = context.Fs.ReadInteger(rule.ProcPath);
        if (value is null)
            return CheckResult.Warn(Id, $"{rule.Key} = '{ShellVariables.Clip(text)}' is not a number");
        var verdict = rule.Judge(value.Value);
        var message = $"{rule.Key} = {value}: {verdict.Meaning}";
        Fix? fix = verdict.Proposed is { } p && verdict.Status != CheckStatus.Ok
            ? new Fix($"set {rule.Key} = {p}", new SetSysctl(rule.Key, p.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            : null;
        return new CheckResult(Id, verdict.Status, message, fix);
    }

    private const long SysrqDumpBit = 8; // SYSRQ_ENABLE_DUMP: gates the crash key

    /// <summary>The rules, in report order.</summary>
    public static IReadOnlyList<SysctlRule> Rules { get; } =
    [
        new("kernel.sysrq", v => v == 1 || (v > 1 && (v & SysrqDumpBit) != 0)
            ? new(CheckStatus.Ok, "SysRq-c (keyboard, serial break, BMC console) can force a dump of a hung machine")
            : new(CheckStatus.Warn, "SysRq-c from a console cannot force a dump of a hung machine (echo c > /proc/sysrq-trigger still works)", v <= 0 ? 1 : v | SysrqDumpBit),
            WhenAbsent: new(CheckStatus.Warn, "built without magic SysRq, so no SysRq-c can force a dump of a hung machine")),
        new("kernel.panic", v => new(CheckStatus.Ok, v switch
        {
            0 => "if the crash kernel cannot take over, the machine stays halted on the panic screen",
            < 0 => "if the crash kernel cannot take over, the machine reboots at once",
            _ => $"if the crash kernel cannot take over, the machine reboots after {v}s",
        })),
        new("kernel.panic_on_oops", v => v != 0
            ? new(CheckStatus.Ok, "an oops panics, so it is dumped")
            : new(CheckStatus.Warn, "an oops only kills the current task: no dump, and the kernel runs on in a possibly corrupt state", 1)),
        new("kernel.panic_on_warn", v => new(CheckStatus.Ok, v != 0 ? "every WARN panics and is dumped (strict: expect more dumps)" : "WARNs are only logged")),
        new("kernel.softlockup_panic", v => new(CheckStatus.Ok, v != 0 ? "a soft lockup panics and is dumped" : "soft lockups are only logged, never dumped (set 1 to dump them)")),
        new("kernel.hardlockup_panic", v => new(CheckStatus.Ok, v != 0 ? "a hard lockup seen by the NMI watchdog panics and is dumped" : "hard lockups are only logged (set 1 to dump them)")),
        new("kernel.hung_task_panic", v => new(CheckStatus.Ok, v != 0 ? "a task blocked past hung_task_timeout_secs panics and is dumped" : "hung tasks are only logged, never dumped")),
        new("vm.panic_on_oom", v => new(CheckStatus.Ok, v switch
        {
            0 => "out of memory kills a task, no dump",
            1 => "out of memory panics (except cpuset/memcg OOMs) and is dumped",
            _ => "every out-of-memory, even in a cgroup, panics and is dumped",
        })),
        new("kernel.unknown_nmi_panic", v => new(CheckStatus.Ok, v != 0 ? "an NMI of unknown reason (BMC 'diag' button) panics and is dumped" : "an NMI of unknown reason is logged and ignored"), X86Only: true),
        new("kernel.panic_on_unrecovered_nmi", v => new(CheckStatus.Ok, v != 0 ? "unknown and SERR (PCI system error) NMIs panic and are dumped" : "unrecovered NMIs are logged and ignored"), X86Only: true),
        new("kernel.panic_on_io_nmi", v => new(CheckStatus.Ok, v != 0 ? "IOCHK NMIs panic and are dumped" : "IOCHK NMIs are logged and ignored"), X86Only: true),
        new("kernel.nmi_watchdog", v => new(CheckStatus.Ok, v != 0 ? "the hard-lockup detector runs (a perf NMI per CPU)" : "no hard-lockup detector: a CPU spinning with interrupts off goes unnoticed")),
    ];
}
