// The report laid out as titled sections of facts, bullet items and preformatted blocks, most
// important first. The text, markdown and HTML renderers all draw these same sections, so they
// never disagree on what a report says.
using System.Globalization;

namespace Kdx.Triage.Rendering;

public sealed record ReportBlock(string? Title, IReadOnlyList<string> Lines);

public sealed class ReportSection(string id, string title, bool collapsed = false)
{
    public string Id { get; } = id;
    public string Title { get; } = title;

    /// <summary>Long sections (log, all blocked tasks) that a reader opens on demand.</summary>
    public bool Collapsed { get; } = collapsed;
    public List<KeyValuePair<string, string>> Facts { get; } = [];
    public List<string> Items { get; } = [];
    public List<ReportBlock> Blocks { get; } = [];

    public void Fact(string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
            Facts.Add(new(key, value));
    }
}

public static class ReportSections
{
    public static string Title(TriageReport r) =>
        $"kdx triage: {PanicClassNames.Name(r.Panic.Class)}" + (r.Panic.Message.Length > 0 ? $" — {r.Panic.Message}" : "");

    public static IReadOnlyList<ReportSection> Of(TriageReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        var list = new List<ReportSection>();

        var what = new ReportSection("what", "What happened");
        what.Fact("class", $"{PanicClassNames.Name(r.Panic.Class)} ({PanicClassNames.Describe(r.Panic.Class)})");
        what.Fact("panic message", r.Panic.Message);
        what.Fact("summary", r.Panic.Summary);
        foreach (var d in r.Panic.Details)
            what.Fact(d.Key.Replace('_', ' '), d.Value);
        what.Fact("evidence", string.Join("; ", r.Panic.Evidence));
        list.Add(what);

        var where = new ReportSection("where", "Where");
        where.Fact("cpu", r.Cpu?.ToString(inv));
        where.Fact("task", r.Pid is { } pid ? string.Create(inv, $"pid {pid}, {r.Comm} (task_struct 0x{r.Task:x})") : null);
        where.Fact("stopped at", r.FaultAt);
        if (r.Backtrace is { } bt)
            where.Blocks.Add(new ReportBlock("backtrace", BacktraceLines(bt)));
        if (r.CulpritBacktrace is { } cb)
            where.Blocks.Add(new ReportBlock(string.Create(inv, $"backtrace of pid {cb.Pid} {cb.Comm}, the task this is about"), BacktraceLines(cb)));
        if (r.Disassembly.Count > 0)
            where.Blocks.Add(new ReportBlock($"code at {r.FaultAt}", r.Disassembly));
        list.Add(where);

        var sig = new ReportSection("signature", "Signature");
        sig.Fact("hash", r.Signature.Hash);
        sig.Fact("signature", r.Signature.Text);
        list.Add(sig);

        var next = new ReportSection("next", "Next steps");
        next.Items.AddRange(r.NextSteps);
        list.Add(next);

        var ctx = new ReportSection("context", "Context");
        ctx.Fact("release", r.Release);
        ctx.Fact("version", r.Version);
        ctx.Fact("node", r.NodeName);
        ctx.Fact("crash time", r.CrashTime?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", inv));
        ctx.Fact("uptime", r.UptimeSeconds is { } up ? Uptime(up) : null);
        ctx.Fact("load average", r.LoadAverage.Count > 0 ? string.Join(", ", r.LoadAverage.Select(l => l.ToString("0.00", inv))) : null);
        ctx.Fact("tasks", r.TaskCount?.ToString(inv));
        if (r.Taint is { } t)
        {
            ctx.Fact("taint", t.Mask == 0 ? "none" : string.Create(inv, $"{t.Letters} (0x{t.Mask:x}): {string.Join(", ", t.Words)}"));
            foreach (var m in t.Modules)
                ctx.Fact($"tainted by {m.Name}", $"{m.Letters}: {string.Join(", ", m.Words)}");
        }
        if (r.Memory is { } mem)
        {
            ctx.Fact("memory", $"{Size(mem.TotalBytes)} total, {Size(mem.UsedBytes)} used, {Size(mem.FreeBytes)} free");
            ctx.Fact("memory detail", $"buffers {Size(mem.BufferBytes)}, cached {Size(mem.CachedBytes)}, slab {Size(mem.SlabBytes)}, swap {Size(mem.SwapTotalBytes - mem.SwapFreeBytes)} of {Size(mem.SwapTotalBytes)} used");
        }
        list.Add(ctx);

        if (r.Cpus.Count > 0)
        {
            var cpus = new ReportSection("cpus", "CPUs and their tasks");
            foreach (var c in r.Cpus)
                cpus.Fact(string.Create(inv, $"cpu {c.Cpu}"), string.Create(inv, $"pid {c.Pid} {c.Comm}{(c.Panicked ? "  <- panicked here" : "")}"));
            list.Add(cpus);
        }

        var log = new ReportSection("log", $"Log: the last {r.LogTail.Count} lines up to the panic", collapsed: true);
        if (r.LogTail.Count > 0)
            log.Blocks.Add(new ReportBlock(null, r.LogTail));
        list.Add(log);

        var blocked = new ReportSection("blocked", $"Blocked tasks (D state): {r.BlockedTasks.Count}", collapsed: true);
        blocked.Blocks.AddRange(r.BlockedTasks.Select(TaskBlock));
        list.Add(blocked);

        var all = new ReportSection("tasks", $"All tasks' backtraces: {r.TaskBacktraces.Count}", collapsed: true);
        all.Blocks.AddRange(r.TaskBacktraces.Select(TaskBlock));
        list.Add(all);

        if (r.Unavailable.Count > 0)
        {
            var un = new ReportSection("unavailable", "Unavailable");
            foreach (var u in r.Unavailable)
                un.Items.Add($"{u.Section}: {u.Reason}");
            list.Add(un);
        }
        return list;
    }

    private static ReportBlock TaskBlock(TaskTrace t) =>
        new(string.Create(CultureInfo.InvariantCulture, $"pid {t.Pid} {t.Comm} ({t.State}{(t.Backtrace?.Cpu is { } c ? $", cpu {c}" : "")})"),
            t.Backtrace is { } tb ? BacktraceLines(tb) : [$"(no backtrace: {t.Problem})"]);

    public static IReadOnlyList<string> BacktraceLines(ReportBacktrace bt)
    {
        var lines = new List<string>(bt.Frames.Count + 2);
        for (var i = 0; i < bt.Frames.Count; i++)
        {
            var f = bt.Frames[i];
            var at = f.Function is null ? f.Name : string.Create(CultureInfo.InvariantCulture, $"{f.Function}+0x{f.Offset:x}");
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"#{i,-2} {at}{(f.Module is null ? "" : $" [{f.Module}]")}"));
            if (f.ExceptionAt is { } e)
                lines.Add($"    [exception RIP: {e}]");
        }
        if (bt.Problem is { } p)
            lines.Add($"(unwind stopped: {p})");
        return lines;
    }

    private static string Uptime(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        var clock = string.Create(CultureInfo.InvariantCulture, $"{t.Hours:00}:{t.Minutes:00}:{t.Seconds:00}");
        return t.Days > 0 ? string.Create(CultureInfo.InvariantCulture, $"{t.Days} days, {clock}") : clock;
    }

    private static string Size(ulong bytes) => Kdx.Kernel.Summary.SizeText.Format(bytes);
}
