// The report as one JSON document with stable snake_case keys (documented in docs/triage.md).
// Unknown values are null, never left out, so a consumer can rely on every key being there.
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Kdx.Triage.Rendering;

public static class JsonReport
{
    /// <summary>Bumped when a key changes meaning or goes away (adding keys does not bump it).</summary>
    public const int FormatVersion = 1;

    public static void Write(TriageReport r, TextWriter o)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(r, j);
        o.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public static void Write(TriageReport r, Utf8JsonWriter j)
    {
        j.WriteStartObject();
        j.WriteNumber("kdx_triage_format", FormatVersion);
        j.WriteString("dump", r.DumpFile);
        j.WriteString("panic_class", PanicClassNames.Name(r.Panic.Class));
        j.WriteString("panic_description", PanicClassNames.Describe(r.Panic.Class));
        j.WriteString("panic_message", r.Panic.Message);
        j.WriteString("summary", r.Panic.Summary);
        j.WriteStartObject("details");
        foreach (var d in r.Panic.Details)
            j.WriteString(d.Key, d.Value);
        j.WriteEndObject();
        Strings(j, "evidence", r.Panic.Evidence);
        if (r.Panic.Culprit is { } c)
        {
            j.WriteStartObject("culprit");
            j.WriteNumber("pid", c.Pid);
            j.WriteString("comm", c.Comm);
            j.WriteEndObject();
        }
        else
            j.WriteNull("culprit");
        Hex(j, "fault_address", r.Panic.FaultAddress);

        Number(j, "cpu", r.Cpu);
        Number(j, "pid", r.Pid);
        j.WriteString("comm", r.Comm);
        Hex(j, "task", r.Task);
        Strings(j, "backtrace", r.Backtrace?.Frames.Select(f => f.Name) ?? []);
        Frames(j, "backtrace_frames", r.Backtrace);
        Strings(j, "culprit_backtrace", r.CulpritBacktrace?.Frames.Select(f => f.Name) ?? []);
        Hex(j, "fault_ip", r.FaultIp);
        j.WriteString("fault_at", r.FaultAt);
        Strings(j, "disassembly", r.Disassembly);

        j.WriteString("release", r.Release);
        j.WriteString("version", r.Version);
        j.WriteString("nodename", r.NodeName);
        j.WriteString("crash_time", r.CrashTime?.ToString("O", CultureInfo.InvariantCulture));
        if (r.UptimeSeconds is { } up)
            j.WriteNumber("uptime_seconds", (long)up);
        else
            j.WriteNull("uptime_seconds");
        j.WriteStartArray("load_average");
        foreach (var l in r.LoadAverage)
            j.WriteNumberValue(l);
        j.WriteEndArray();
        Number(j, "tasks", r.TaskCount);
        Taint(j, r.Taint);
        Strings(j, "log_tail", r.LogTail);

        Tasks(j, "blocked_tasks", r.BlockedTasks);
        Tasks(j, "task_backtraces", r.TaskBacktraces);

        if (r.Memory is { } m)
        {
            j.WriteStartObject("memory");
            j.WriteNumber("total_bytes", m.TotalBytes);
            j.WriteNumber("used_bytes", m.UsedBytes);
            j.WriteNumber("free_bytes", m.FreeBytes);
            j.WriteNumber("buffers_bytes", m.BufferBytes);
            j.WriteNumber("cached_bytes", m.CachedBytes);
            j.WriteNumber("slab_bytes", m.SlabBytes);
            j.WriteNumber("swap_total_bytes", m.SwapTotalBytes);
            j.WriteNumber("swap_free_bytes", m.SwapFreeBytes);
            j.WriteEndObject();
        }
        else
            j.WriteNull("memory");

        j.WriteStartArray("cpus");
        foreach (var cpu in r.Cpus)
        {
            j.WriteStartObject();
            j.WriteNumber("cpu", cpu.Cpu);
            j.WriteNumber("pid", cpu.Pid);
            j.WriteString("comm", cpu.Comm);
            j.WriteBoolean("panicked", cpu.Panicked);
            j.WriteEndObject();
        }
        j.WriteEndArray();

        j.WriteString("signature", r.Signature.Text);
        Strings(j, "signature_frames", r.Signature.Frames);
        j.WriteString("signature_hash", r.Signature.Hash);
        Strings(j, "next_steps", r.NextSteps);
        j.WriteStartArray("unavailable");
        foreach (var u in r.Unavailable)
        {
            j.WriteStartObject();
            j.WriteString("section", u.Section);
            j.WriteString("reason", u.Reason);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void Tasks(Utf8JsonWriter j, string name, IReadOnlyList<TaskTrace> tasks)
    {
        j.WriteStartArray(name);
        foreach (var t in tasks)
        {
            j.WriteStartObject();
            j.WriteNumber("pid", t.Pid);
            j.WriteString("comm", t.Comm);
            Hex(j, "task", t.Task);
            j.WriteString("state", t.State);
            Number(j, "cpu", t.Backtrace?.Cpu);
            Strings(j, "backtrace", t.Backtrace?.Frames.Select(f => f.Name) ?? []);
            j.WriteString("problem", t.Problem ?? t.Backtrace?.Problem);
            j.WriteEndObject();
        }
        j.WriteEndArray();
    }

    private static void Taint(Utf8JsonWriter j, TaintInfo? t)
    {
        if (t is null)
        {
            j.WriteNull("taint");
            return;
        }
        j.WriteStartObject("taint");
        j.WriteNumber("mask", t.Mask);
        j.WriteString("letters", t.Letters);
        Strings(j, "flags", t.Words);
        j.WriteStartArray("modules");
        foreach (var m in t.Modules)
        {
            j.WriteStartObject();
            j.WriteString("name", m.Name);
            j.WriteString("letters", m.Letters);
            Strings(j, "flags", m.Words);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void Frames(Utf8JsonWriter j, string name, ReportBacktrace? bt)
    {
        j.WriteStartArray(name);
        foreach (var f in bt?.Frames ?? [])
        {
            j.WriteStartObject();
            j.WriteString("function", f.Function);
            j.WriteString("module", f.Module);
            j.WriteNumber("offset", f.Offset);
            Hex(j, "ip", f.Ip);
            j.WriteString("stack", f.Stack);
            Hex(j, "exception_ip", f.ExceptionIp);
            j.WriteString("exception_at", f.ExceptionAt);
            j.WriteEndObject();
        }
        j.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter j, string name, IEnumerable<string> values)
    {
        j.WriteStartArray(name);
        foreach (var v in values)
            j.WriteStringValue(v);
        j.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter j, string name, int? v)
    {
        if (v is { } n)
            j.WriteNumber(name, n);
        else
            j.WriteNull(name);
    }

    private static void Hex(Utf8JsonWriter j, string name, ulong? v)
    {
        if (v is { } n)
            j.WriteString(name, "0x" + n.ToString("x", CultureInfo.InvariantCulture));
        else
            j.WriteNull(name);
    }
}
