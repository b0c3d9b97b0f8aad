// Concrete hints for the operator, by class: what to look at next and which setting made (or
// would have made) this a dump.
using System.Globalization;

namespace Kdx.Triage;

public static class NextSteps
{
    public static IReadOnlyList<string> For(TriageReport r)
    {
        var p = r.Panic;
        var steps = new List<string>();
        var top = r.Signature.Frames.Count > 0 ? r.Signature.Frames[0] : null;
        var dump = r.DumpFile;
        switch (p.Class)
        {
            case PanicClass.Sysrq:
                steps.Add($"The crash was asked for (task {r.Comm ?? "?"}, pid {Num(r.Pid)} wrote 'c' to /proc/sysrq-trigger or SysRq-c was pressed). If nobody meant to, find who: audit logs, cron jobs, automation that reboots hung machines.");
                steps.Add("If it was taken because the machine hung, the cause is in the blocked tasks and the CPUs' tasks below: `kdx bt " + dump + " -a`, `kdx ps " + dump + "`.");
                break;
            case PanicClass.Nmi:
                switch (p.Detail("source"))
                {
                    case "nmimgr":
                        steps.Add($"nmimgr panicked on purpose: event code {p.Detail("event_code") ?? "?"} is in its events_panic. Match it with the BMC's event log at that time (`ipmitool sel list`) to learn which button, watchdog or sensor raised it.");
                        break;
                    case "serr":
                    case "iochk":
                        steps.Add($"A hardware error NMI ({p.Detail("source")}, reason {p.Detail("reason")}): read the BMC's event log (`ipmitool sel list`) and the PCIe AER messages in the log; suspect the device or slot named there.");
                        break;
                    default:
                        steps.Add($"An NMI with reason byte {p.Detail("reason") ?? "?"} nobody claimed: usually a BMC's NMI button or its watchdog (iLO, iDRAC, IPMI). Check the BMC's event log (`ipmitool sel list`) at the crash time.");
                        steps.Add("To take a dump for exactly this event and name it: load nmimgr with its code in events_panic (`kdx nmi discover` on the log finds the code, `kdx nmi config` writes the setting); kernel.unknown_nmi_panic=1 panics on every unknown NMI instead.");
                        break;
                }
                steps.Add($"The NMI interrupted CPU {Num(r.Cpu)} running {r.Comm ?? "?"}; if the machine was hung before the NMI, look at the other CPUs and blocked tasks: `kdx bt {dump} -a`.");
                break;
            case PanicClass.Oops:
                steps.Add($"{p.Detail("kind") ?? "A bad access"}{(p.Detail("address") is { } a ? " at " + a : "")} in {top ?? "?"}: read the faulting instruction in the code listing{Dis(dump, top)} to see which pointer was bad, then that function's source for the kernel release {r.Release ?? "?"}.");
                break;
            case PanicClass.Bug:
                steps.Add($"A BUG() assertion failed at {p.Detail("file") ?? "?"}:{p.Detail("line") ?? "?"}: read that line in the source of {(top is { } t && t.Contains('[', StringComparison.Ordinal) ? "the module " + t[(t.IndexOf('[', StringComparison.Ordinal) + 1)..].TrimEnd(']') : "the kernel " + (r.Release ?? "?"))} to see which invariant broke.");
                break;
            case PanicClass.Warn:
                steps.Add($"A WARN() at {p.Detail("file") ?? "?"}:{p.Detail("line") ?? "?"} in {p.Detail("function") ?? top ?? "?"} became fatal because kernel.panic_on_warn=1; the warning's condition is in that source line. Without panic_on_warn the machine would have gone on with a 'W' taint.");
                break;
            case PanicClass.Softlockup:
                steps.Add($"CPU {p.Detail("cpu") ?? Num(r.Cpu)} spun for {p.Detail("stuck_seconds") ?? "?"}s in {top ?? "?"} without scheduling: look there for a loop without cond_resched(), a spinlock waited on, or a lost wakeup (the code listing{Dis(dump, top)}).");
                steps.Add("kernel.softlockup_panic=1 made this a panic; the threshold is 2 x kernel.watchdog_thresh seconds.");
                break;
            case PanicClass.Hardlockup:
                steps.Add($"CPU {p.Detail("cpu") ?? Num(r.Cpu)} ran with interrupts off in {top ?? "?"} until the NMI watchdog fired: look for a spinlock taken with irqs disabled that is never released, or a stuck device access.");
                break;
            case PanicClass.HungTask:
                steps.Add($"{p.Detail("comm") ?? "A task"} (pid {p.Detail("pid") ?? "?"}) slept in D state for more than {p.Detail("blocked_seconds") ?? "?"}s in {top ?? "?"}: find what it waits for (a mutex owner, an I/O that never completed, a device) in the blocked tasks' backtraces below.");
                steps.Add("kernel.hung_task_panic=1 made this a panic; kernel.hung_task_timeout_secs sets the wait.");
                break;
            case PanicClass.Oom:
                steps.Add($"Memory ran out{(p.Detail("victim_comm") is { } v ? $"; the largest task was {v} (rss {Mib(p.Detail("victim_rss_kb"))} MiB)" : "")}. vm.panic_on_oom=1 made this a panic instead of killing it.");
                steps.Add("Check whether that task leaks or was simply too big for the machine; with little user memory, look at slab and page cache in the memory summary (`kdx kmem -i " + dump + "`).");
                break;
            case PanicClass.Mce:
                steps.Add("A hardware error: read the 'Hardware Error' lines in the log, the BMC's event log and rasdaemon/mcelog history; the bank and address name the failing CPU or DIMM.");
                break;
            default:
                steps.Add($"The panic message is \"{p.Message}\": the log tail below shows what led to it, and the backtrace shows who called panic().");
                break;
        }
        if (r.Taint is { Modules.Count: > 0 } t2)
            steps.Add("The kernel was tainted by " + string.Join(", ", t2.Modules.Select(m => $"{m.Name} ({string.Join(", ", m.Words)})"))
                + ": reproduce without them, or take the report to their vendor.");
        if (r.Unavailable.Count > 0)
            steps.Add("Parts of this report could not be read from the dump (see 'Unavailable'); a dump taken at a lower makedumpfile -d level would hold them.");
        return steps;
    }

    private static string Num(int? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "?";

    private static string Mib(string? kb) => long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? (v / 1024).ToString(CultureInfo.InvariantCulture) : "?";

    /// <summary>A `kdx dis` hint for a vmlinux function (kdx dis names vmlinux symbols only; a module's code is in the listing).</summary>
    private static string Dis(string dump, string? frame) =>
        frame is null || frame.Contains('[', StringComparison.Ordinal) || frame == "?" ? "" : $", or `kdx dis {dump} {frame}`";
}
