// Classifies a panic from what the dump holds: the panic message and the lines the kernel logged
// before it (oops, BUG, WARNING, soft lockup, hung task, OOM, NMI reason and nmimgr lines), and,
// when the log says nothing (its pages excluded, no panic line), the panicking task's backtrace
// (sysrq_handle_crash, watchdog_timer_fn, unknown_nmi_error, out_of_memory ...).
using System.Globalization;
using System.Text.RegularExpressions;
using Kdx.Kernel.Nmi;

namespace Kdx.Triage;

public static partial class PanicClassifier
{
    private const string PanicPrefix = "Kernel panic - not syncing: ";

    /// <summary>How far before the panic line the cause is looked for.</summary>
    private const int LookBack = 4000;

    /// <param name="log">The log's lines (text only, one entry per line, oldest first); empty when unreadable.</param>
    /// <param name="panicFrames">The panicking task's function names, innermost first (empty when unknown).</param>
    /// <param name="pageSize">Page size, for the OOM report's rss column (in pages).</param>
    public static PanicClassification Classify(IReadOnlyList<string> log, IReadOnlyList<string> panicFrames, ulong pageSize = 4096)
    {
        var panicAt = -1;
        for (var i = log.Count - 1; i >= 0; i--)
            if (log[i].StartsWith(PanicPrefix, StringComparison.Ordinal))
            {
                panicAt = i;
                break;
            }
        var message = panicAt >= 0 ? log[panicAt][PanicPrefix.Length..].TrimEnd() : "";
        var end = panicAt >= 0 ? panicAt : log.Count;
        var from = Math.Max(0, end - LookBack);
        var c = new Context(log, from, end, message, panicFrames) { PageKb = (long)(pageSize / 1024) };
        return ByMessage(c) ?? ByCauseLines(c) ?? ByFrames(c) ?? c.Make(PanicClass.Other, message.Length > 0 ? message : "no panic message in the log", "panic message not recognised");
    }

    private static PanicClassification? ByMessage(Context c)
    {
        var m = c.Message;
        if (m.Length == 0)
            return null;
        if (m.StartsWith("sysrq triggered crash", StringComparison.Ordinal))
            return Sysrq(c, "panic message");
        if (m.Contains("softlockup", StringComparison.Ordinal))
            return Softlockup(c);
        if (m.Contains("Hard LOCKUP", StringComparison.Ordinal) || m.Contains("hardlockup", StringComparison.Ordinal))
            return Hardlockup(c);
        if (m.StartsWith("hung_task", StringComparison.Ordinal))
            return HungTask(c);
        if (m.StartsWith("Out of memory", StringComparison.Ordinal) || m.Contains("deadlocked on memory", StringComparison.Ordinal))
            return Oom(c);
        if (m.Contains("panic_on_warn", StringComparison.Ordinal))
            return Warn(c);
        if (m.Contains("machine check", StringComparison.OrdinalIgnoreCase) || m.Contains("MCE", StringComparison.Ordinal))
            return Mce(c);
        if (m.StartsWith("nmimgr", StringComparison.Ordinal) || m.Contains("NMI", StringComparison.Ordinal))
            return Nmi(c);
        return null;
    }

    /// <summary>"Fatal exception", a custom message or no panic line: the nearest oops/BUG line before it says what it was.</summary>
    private static PanicClassification? ByCauseLines(Context c)
    {
        for (var i = c.End - 1; i >= c.From; i--)
        {
            var line = c.Log[i];
            if (line.StartsWith("kernel BUG at ", StringComparison.Ordinal))
                return Bug(c, i);
            if (OopsLine().IsMatch(line))
            {
                // "Oops: 0002 [#1]" follows the line that says what the fault was ("BUG: kernel NULL pointer dereference, address: ...").
                for (var j = i - 1; j >= Math.Max(c.From, i - 12); j--)
                    if (OopsLine().IsMatch(c.Log[j]) && !c.Log[j].StartsWith("Oops: ", StringComparison.Ordinal))
                        return Oops(c, j);
                return Oops(c, i);
            }
            if (line.StartsWith("sysrq: Trigger a crash", StringComparison.Ordinal))
                return Sysrq(c, "'sysrq: Trigger a crash' line");
        }
        return null;
    }

    private static PanicClassification? ByFrames(Context c)
    {
        bool Has(string f) => c.Frames.Any(x => x == f);
        if (Has("sysrq_handle_crash"))
            return Sysrq(c, "sysrq_handle_crash in the backtrace");
        if (Has("watchdog_timer_fn"))
            return c.Make(PanicClass.Softlockup, c.MessageOr("soft lockup"), "watchdog_timer_fn in the backtrace");
        if (Has("watchdog_overflow_callback") || Has("watchdog_hardlockup_check"))
            return c.Make(PanicClass.Hardlockup, c.MessageOr("hard lockup"), "hard lockup detector in the backtrace");
        if (Has("check_panic_on_warn") || Has("__warn"))
            return c.Make(PanicClass.Warn, c.MessageOr("WARN() with panic_on_warn"), "__warn in the backtrace");
        if (Has("out_of_memory"))
            return c.Make(PanicClass.Oom, c.MessageOr("out of memory"), "out_of_memory in the backtrace");
        if (Has("unknown_nmi_error") || Has("pci_serr_error") || Has("io_check_error"))
            return c.Make(PanicClass.Nmi, c.MessageOr("NMI"), "NMI handler in the backtrace");
        if (Has("do_machine_check") || Has("mce_panic"))
            return c.Make(PanicClass.Mce, c.MessageOr("machine check"), "machine check handler in the backtrace");
        if (Has("check_hung_uninterruptible_tasks") || Has("watchdog") && Has("kthread") && c.Frames.Count < 8)
            return c.Make(PanicClass.HungTask, c.MessageOr("hung task"), "khungtaskd's watchdog in the backtrace");
        if (Has("exc_invalid_op") || Has("do_error_trap"))
            return c.Make(PanicClass.Bug, c.MessageOr("invalid opcode (BUG)"), "invalid-opcode exception in the backtrace");
        if (Has("page_fault_oops") || Has("exc_general_protection"))
            return c.Make(PanicClass.Oops, c.MessageOr("oops"), "kernel fault in the backtrace");
        return null;
    }

    private static PanicClassification Sysrq(Context c, string evidence) =>
        c.Make(PanicClass.Sysrq, c.MessageOr("sysrq triggered crash"), evidence) with { Summary = "A crash was requested with SysRq 'c' (echo c > /proc/sysrq-trigger or the SysRq key)." };

    private static PanicClassification Softlockup(Context c)
    {
        var r = c.Make(PanicClass.Softlockup, c.Message, "panic message");
        if (c.Last(SoftLockupLine()) is not { } m)
            return r with { Summary = "A CPU was stuck in kernel code (soft lockup)." };
        var pid = Int(m.Groups["pid"].Value);
        return r with
        {
            Summary = $"CPU {m.Groups["cpu"].Value} was stuck for {m.Groups["secs"].Value}s in kernel code, running {m.Groups["comm"].Value} (pid {pid}).",
            Details = [KV("cpu", m.Groups["cpu"].Value), KV("stuck_seconds", m.Groups["secs"].Value), KV("comm", m.Groups["comm"].Value), KV("pid", m.Groups["pid"].Value)],
            Evidence = [.. r.Evidence, m.Value],
            Culprit = (pid, m.Groups["comm"].Value),
        };
    }

    private static PanicClassification Hardlockup(Context c)
    {
        var r = c.Make(PanicClass.Hardlockup, c.Message, "panic message");
        if (c.Last(HardLockupLine()) is not { } m)
            return r with { Summary = "A CPU was stuck with interrupts disabled (hard lockup)." };
        return r with
        {
            Summary = $"CPU {m.Groups["cpu"].Value} was stuck with interrupts disabled (hard lockup).",
            Details = [KV("cpu", m.Groups["cpu"].Value)],
            Evidence = [.. r.Evidence, m.Value],
        };
    }

    private static PanicClassification HungTask(Context c)
    {
        var r = c.Make(PanicClass.HungTask, c.Message, "panic message");
        var blocked = c.All(HungTaskLine());
        if (blocked.Count == 0)
            return r with { Summary = "A task stayed in uninterruptible sleep (D state) past hung_task_timeout_secs." };
        var first = blocked[0];
        var pid = Int(first.Groups["pid"].Value);
        return r with
        {
            Summary = $"Task {first.Groups["comm"].Value} (pid {pid}) was blocked in D state for more than {first.Groups["secs"].Value} seconds"
                + (blocked.Count > 1 ? $" ({blocked.Count} blocked-task reports)." : "."),
            Details = [KV("comm", first.Groups["comm"].Value), KV("pid", first.Groups["pid"].Value), KV("blocked_seconds", first.Groups["secs"].Value), KV("reports", blocked.Count.ToString(CultureInfo.InvariantCulture))],
            Evidence = [.. r.Evidence, first.Value],
            Culprit = (pid, first.Groups["comm"].Value),
        };
    }

    private static PanicClassification Oom(Context c)
    {
        var r = c.Make(PanicClass.Oom, c.Message, "panic message");
        var details = new List<KeyValuePair<string, string>>();
        var evidence = new List<string>(r.Evidence);
        if (c.Last(OomInvoked()) is { } inv)
        {
            details.Add(KV("invoked_by", inv.Groups["comm"].Value));
            details.Add(KV("gfp_mask", inv.Groups["gfp"].Value));
            details.Add(KV("order", inv.Groups["order"].Value));
            evidence.Add(inv.Value);
        }
        (int Pid, string Comm, long RssKb)? victim = null;
        if (c.Last(OomKilled()) is { } k)
        {
            victim = (Int(k.Groups["pid"].Value), k.Groups["comm"].Value, long.Parse(k.Groups["anon"].Value, CultureInfo.InvariantCulture));
            evidence.Add(k.Value);
        }
        else
        {
            // panic_on_oom panics before a victim is chosen: the largest task in the OOM report's table is the one it would have killed.
            var pageKb = c.PageKb;
            foreach (var row in c.All(OomTableRow()))
            {
                var rss = long.Parse(row.Groups["rss"].Value, CultureInfo.InvariantCulture) * pageKb;
                if (victim is null || rss > victim.Value.RssKb)
                    victim = (Int(row.Groups["pid"].Value), row.Groups["name"].Value, rss);
            }
            if (victim is not null)
                evidence.Add("largest rss in the OOM report's task table");
        }
        var summary = "The kernel ran out of memory";
        if (victim is { } v)
        {
            details.Add(KV("victim_comm", v.Comm));
            details.Add(KV("victim_pid", v.Pid.ToString(CultureInfo.InvariantCulture)));
            details.Add(KV("victim_rss_kb", v.RssKb.ToString(CultureInfo.InvariantCulture)));
            summary += $"; the largest task was {v.Comm} (pid {v.Pid}, rss {v.RssKb / 1024} MiB)";
        }
        return r with { Summary = summary + ".", Details = details, Evidence = evidence, Culprit = victim is { } w ? (w.Pid, w.Comm) : null };
    }

    private static PanicClassification Warn(Context c)
    {
        var r = c.Make(PanicClass.Warn, c.Message, "panic message");
        if (c.Last(WarningLine()) is not { } m)
            return r with { Summary = "A WARN() fired and panic_on_warn turned it into a panic." };
        return r with
        {
            Summary = $"WARN() at {m.Groups["file"].Value}:{m.Groups["line"].Value} in {m.Groups["func"].Value}, made fatal by panic_on_warn.",
            Details = [KV("file", m.Groups["file"].Value), KV("line", m.Groups["line"].Value), KV("function", m.Groups["func"].Value), KV("cpu", m.Groups["cpu"].Value), KV("pid", m.Groups["pid"].Value)],
            Evidence = [.. r.Evidence, m.Value],
        };
    }

    private static PanicClassification Mce(Context c)
    {
        var r = c.Make(PanicClass.Mce, c.Message, "panic message");
        var lines = new List<string>();
        for (var i = c.From; i < c.End && lines.Count < 8; i++)
            if (c.Log[i].Contains("Hardware Error", StringComparison.Ordinal) || c.Log[i].StartsWith("mce:", StringComparison.Ordinal))
                lines.Add(c.Log[i]);
        return r with
        {
            Summary = "The CPU reported an uncorrectable hardware error (machine check).",
            Details = [.. lines.Select((l, i) => KV($"mce_line_{i + 1}", l))],
            Evidence = [.. r.Evidence, .. lines],
        };
    }

    private static PanicClassification Nmi(Context c)
    {
        var r = c.Make(PanicClass.Nmi, c.Message, "panic message");
        var scanner = new NmiLogScanner();
        for (var i = c.From; i < c.End; i++)
            scanner.Add(new NmiLogLine(null, c.Log[i]));
        var details = new List<KeyValuePair<string, string>>();
        var nmimgrPanic = scanner.LastActions.Where(a => a.Value == NmiAction.Panicked).Select(a => (int?)a.Key).LastOrDefault();
        var last = scanner.Sightings.Count > 0 ? scanner.Sightings[^1] : null;
        string summary;
        if (nmimgrPanic is not null || c.Message.StartsWith("nmimgr", StringComparison.Ordinal))
        {
            details.Add(KV("source", "nmimgr"));
            if (nmimgrPanic is { } p)
            {
                details.Add(KV("event_code", $"0x{p:x2}"));
                details.Add(KV("event_code_decimal", p.ToString(CultureInfo.InvariantCulture)));
            }
            summary = $"nmimgr panicked on an NMI whose event code{(nmimgrPanic is { } q ? $" 0x{q:x2}" : "")} is listed in its events_panic.";
        }
        else if (last is not null)
        {
            var source = last.Source.HasFlag(NmiSource.Serr) ? "serr" : last.Source.HasFlag(NmiSource.Iock) ? "iochk" : "unknown";
            details.Add(KV("source", source));
            details.Add(KV("reason", $"0x{last.KernelCode ?? last.Code:x2}"));
            if (last.Cpu is { } cpu)
                details.Add(KV("cpu", cpu.ToString(CultureInfo.InvariantCulture)));
            summary = source switch
            {
                "serr" => $"A PCI system error (SERR) NMI, reason 0x{last.Code:x2}, stopped the kernel.",
                "iochk" => $"An I/O channel check (IOCHK) NMI, reason 0x{last.Code:x2}, stopped the kernel.",
                _ => $"An NMI for an unknown reason (reason byte 0x{last.Code:x2}) arrived{(last.Cpu is { } n ? $" on CPU {n}" : "")} and the kernel panicked (unknown_nmi_panic or panic_on_unrecovered_nmi).",
            };
        }
        else
        {
            details.Add(KV("source", "unknown"));
            summary = "An NMI stopped the kernel; the log does not say its reason.";
        }
        var nmimgrCodes = scanner.Sightings.Where(s => s.Source.HasFlag(NmiSource.Nmimgr)).Select(s => s.Code).Distinct().ToList();
        if (nmimgrCodes.Count > 0)
            details.Add(KV("nmimgr_event_codes", string.Join(',', nmimgrCodes.Select(x => $"0x{x:x2}"))));
        return r with { Summary = summary, Details = details, Evidence = [.. r.Evidence, .. scanner.Sightings.TakeLast(3).Select(s => $"NMI line {s.LineNumber}: code 0x{s.Code:x2} ({NmiSourceNames.Describe(s.Source)})")] };
    }

    private static PanicClassification Bug(Context c, int at)
    {
        var m = BugLine().Match(c.Log[at]);
        var r = c.Make(PanicClass.Bug, c.MessageOr(c.Log[at]), c.Log[at]);
        if (!m.Success)
            return r with { Summary = "A BUG() assertion failed." };
        var rip = c.After(at, RipLine());
        var fn = rip?.Groups["sym"].Value;
        return r with
        {
            Summary = $"BUG() at {m.Groups["file"].Value}:{m.Groups["line"].Value}{(fn is null ? "" : $" in {fn}")}.",
            Details = [KV("file", m.Groups["file"].Value), KV("line", m.Groups["line"].Value), .. fn is null ? Array.Empty<KeyValuePair<string, string>>() : [KV("function", fn)]],
        };
    }

    private static PanicClassification Oops(Context c, int at)
    {
        var line = c.Log[at];
        var r = c.Make(PanicClass.Oops, c.MessageOr(line), line);
        var details = new List<KeyValuePair<string, string>>();
        ulong? address = null;
        var a = AddressInLine().Match(line);
        if (a.Success)
            address = ulong.Parse(a.Groups["addr"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        else if (c.After(at, Cr2Line()) is { } cr2)
            address = ulong.Parse(cr2.Groups["addr"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var kind = line.Contains("NULL pointer dereference", StringComparison.Ordinal) ? "NULL pointer dereference"
            : line.Contains("general protection fault", StringComparison.Ordinal) ? "general protection fault"
            : line.Contains("unable to handle page fault", StringComparison.Ordinal) ? "paging request"
            : "oops";
        details.Add(KV("kind", kind));
        if (address is { } ad)
            details.Add(KV("address", $"0x{ad:x}"));
        if (c.After(at, AccessLine()) is { } acc)
            details.Add(KV("access", acc.Groups["what"].Value));
        var rip = c.After(at, RipLine());
        if (rip is not null)
            details.Add(KV("function", rip.Groups["sym"].Value));
        var where = rip is null ? "" : $" in {rip.Groups["sym"].Value}";
        return r with
        {
            Summary = kind switch
            {
                "NULL pointer dereference" => $"NULL pointer dereference{(address is { } x ? $" at address 0x{x:x}" : "")}{where}.",
                "paging request" => $"Bad paging request for address {(address is { } x ? $"0x{x:x}" : "?")}{where}.",
                _ => $"Kernel {kind}{where}.",
            },
            Details = details,
            FaultAddress = address,
        };
    }

    private static KeyValuePair<string, string> KV(string k, string v) => new(k, v);

    private static int Int(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;

    private sealed class Context(IReadOnlyList<string> log, int from, int end, string message, IReadOnlyList<string> frames)
    {
        public IReadOnlyList<string> Log => log;
        public int From => from;
        public int End => end;
        public string Message => message;
        public IReadOnlyList<string> Frames => frames;
        public long PageKb { get; init; } = 4;

        public string MessageOr(string fallback) => message.Length > 0 ? message : fallback;

        public PanicClassification Make(PanicClass cls, string msg, string evidence) =>
            new(cls, msg, PanicClassNames.Describe(cls), [], [evidence]);

        public Match? Last(Regex r)
        {
            for (var i = end - 1; i >= from; i--)
                if (r.Match(log[i]) is { Success: true } m)
                    return m;
            return null;
        }

        public List<Match> All(Regex r)
        {
            var list = new List<Match>();
            for (var i = from; i < end; i++)
                if (r.Match(log[i]) is { Success: true } m)
                    list.Add(m);
            return list;
        }

        /// <summary>The first match in the 40 lines after <paramref name="at"/> (an oops report's RIP, CR2 ...).</summary>
        public Match? After(int at, Regex r)
        {
            for (var i = at + 1; i < Math.Min(log.Count, at + 40); i++)
                if (r.Match(log[i]) is { Success: true } m)
                    return m;
            return null;
        }
    }

    [GeneratedRegex(@"^(BUG: kernel NULL pointer dereference|BUG: unable to handle (page fault|kernel)|general protection fault|Oops: )")]
    private static partial Regex OopsLine();

    [GeneratedRegex(@"address: (?:0x)?(?<addr>[0-9a-f]{1,16})\b")]
    private static partial Regex AddressInLine();

    [GeneratedRegex(@"^CR2: (?<addr>[0-9a-f]{16})")]
    private static partial Regex Cr2Line();

    [GeneratedRegex(@"^#PF: (?<what>.*access in .* mode)")]
    private static partial Regex AccessLine();

    [GeneratedRegex(@"^RIP: [0-9a-f]{4}:(?<sym>[^+\s]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?<mod>[^\]]+)\])?")]
    private static partial Regex RipLine();

    [GeneratedRegex(@"^kernel BUG at (?<file>.+):(?<line>\d+)!")]
    private static partial Regex BugLine();

    [GeneratedRegex(@"^WARNING: CPU: (?<cpu>\d+) PID: (?<pid>\d+) at (?<file>\S+):(?<line>\d+) (?<func>[^+\s]+)")]
    private static partial Regex WarningLine();

    [GeneratedRegex(@"soft lockup - CPU#(?<cpu>\d+) stuck for (?<secs>\d+)s! \[(?<comm>.*):(?<pid>\d+)\]")]
    private static partial Regex SoftLockupLine();

    [GeneratedRegex(@"(?:Watchdog detected hard LOCKUP on cpu|hard LOCKUP on cpu) (?<cpu>\d+)")]
    private static partial Regex HardLockupLine();

    [GeneratedRegex(@"^INFO: task (?<comm>.*):(?<pid>\d+) blocked for more than (?<secs>\d+) seconds")]
    private static partial Regex HungTaskLine();

    [GeneratedRegex(@"^(?<comm>.*) invoked oom-killer: gfp_mask=(?<gfp>0x[0-9a-f]+)[^,]*, order=(?<order>-?\d+)")]
    private static partial Regex OomInvoked();

    [GeneratedRegex(@"Killed process (?<pid>\d+) \((?<comm>.*)\) total-vm:\d+kB, anon-rss:(?<anon>\d+)kB")]
    private static partial Regex OomKilled();

    [GeneratedRegex(@"^\[\s*(?<pid>\d+)\]\s+\d+\s+\d+\s+\d+\s+(?<rss>\d+)\s+\d+\s+\d+\s+-?\d+\s+(?<name>.+)$")]
    private static partial Regex OomTableRow();
}
