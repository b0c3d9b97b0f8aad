// Renders log records as crash's `log` command does: "[%5lu.%06lu] text", continuation lines of
// a multi-line record indented under the text, non-printable bytes as '.', and the -T (wall
// clock), -m (level) and -c (caller) variants.
using System.Globalization;
using System.Text;

namespace Kdx.Kernel.Log;

public sealed record LogFormatOptions
{
    /// <summary>-m: prefix each record with its level as crash does, "&lt;%x&gt;".</summary>
    public bool ShowLevel { get; init; }

    /// <summary>-T: print wall-clock time computed from this boot time instead of seconds since boot.</summary>
    public DateTimeOffset? BootTime { get; init; }

    /// <summary>-c: print the caller ("T123"/"C1") right-aligned in a column of this width (crash: 6 for pid_max ≤ 99999).</summary>
    public int? CallerWidth { get; init; }

    /// <summary>-a: append SUBSYSTEM= and DEVICE= lines from the record's device info.</summary>
    public bool ShowDeviceInfo { get; init; }
}

public static class LogFormatter
{
    public static string Format(IReadOnlyList<LogRecord> records, LogFormatOptions? options = null)
    {
        var sb = new StringBuilder();
        var writer = new StringWriter(sb, CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(writer, records, options);
        return sb.ToString();
    }

    public static void Write(TextWriter output, IReadOnlyList<LogRecord> records, LogFormatOptions? options = null)
    {
        options ??= new LogFormatOptions();
        var line = new StringBuilder(256);
        foreach (var r in records)
        {
            line.Clear();
            AppendRecord(line, r, options);
            output.Write(line);
        }
    }

    /// <summary>One record, ending in a newline.</summary>
    public static void AppendRecord(StringBuilder sb, LogRecord r, LogFormatOptions options)
    {
        if (r.Raw is not null) // a plain old log_buf line: crash prints it as stored
        {
            sb.Append(r.Raw).Append('\n');
            return;
        }
        if (r.Dataless)
        {
            sb.Append('\n'); // crash prints nothing but the newline for a record without a text block
            return;
        }
        var start = sb.Length;
        if (options.BootTime is { } boot)
            sb.Append('[').Append(CTime(boot.AddSeconds(r.TimestampNs / 1_000_000_000))).Append("] ");
        else
            sb.Append(CultureInfo.InvariantCulture, $"[{r.TimestampNs / 1_000_000_000,5}.{r.TimestampNs % 1_000_000_000 / 1000:D6}] ");
        if (options.CallerWidth is { } width && r.Caller is { } caller)
            sb.Append('[').Append(caller.PadLeft(width)).Append("] ");
        if (options.ShowLevel && r.Level is { } level)
            sb.Append(CultureInfo.InvariantCulture, $"<{level:x}>");
        var indent = sb.Length - start;
        if (r.TextMissing)
            sb.Append("(text not in dump)");
        foreach (var c in r.Text)
        {
            if (c == '\n')
                sb.Append('\n').Append(' ', indent);
            else if (c is >= ' ' and <= '~' or '\t' or '\v' or '\f' or '\r')
                sb.Append(c);
            else
                sb.Append('.');
        }
        if (options.ShowDeviceInfo)
        {
            if (!string.IsNullOrEmpty(r.Subsystem))
                sb.Append('\n').Append(' ', indent).Append("SUBSYSTEM=").Append(r.Subsystem);
            if (!string.IsNullOrEmpty(r.Device))
                sb.Append('\n').Append(' ', indent).Append("DEVICE=").Append(r.Device);
        }
        sb.Append('\n');
    }

    /// <summary>strftime "%a %b %e %T %Z %Y" in UTC, the form crash uses for log -T.</summary>
    public static string CTime(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return string.Create(CultureInfo.InvariantCulture,
            $"{u:ddd} {u:MMM} {u.Day,2} {u:HH:mm:ss} UTC {u.Year}");
    }
}
