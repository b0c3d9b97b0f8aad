// The doctor's two outputs: text for people (one line per check, fixes under the ones that are not
// ok) and JSON for monitoring, whose shape is fixed by docs/doctor.md (schema "kdx.doctor/1").
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Kdx.Setup.Doctor;

public static class DoctorOutput
{
    public const string Schema = "kdx.doctor/1";

    public static string StatusWord(CheckStatus s) => s switch
    {
        CheckStatus.Ok => "ok",
        CheckStatus.Skip => "skip",
        CheckStatus.Warn => "warn",
        _ => "fail",
    };

    public static void WriteText(DoctorReport report, TextWriter w)
    {
        var m = report.Machine;
        w.WriteLine($"kdx doctor: {m.Distro.PrettyName}, {m.Arch}, kernel {m.KernelRelease ?? "unknown"}, root {m.Fs.Root}");
        int width = report.Results.Select(r => r.Id.Length).DefaultIfEmpty(0).Max();
        foreach (var r in report.Results)
        {
            w.WriteLine($"  {StatusWord(r.Status),-4}  {r.Id.PadRight(width)}  {r.Message}");
            if (r.Fix is null || r.Status is CheckStatus.Ok or CheckStatus.Skip)
                continue;
            const string indent = "          ";
            w.WriteLine($"{indent}fix: {r.Fix.Summary}");
            foreach (var line in FixRenderer.Render(r.Fix, m))
                w.WriteLine($"{indent}  {line}");
        }
        int fails = report.Results.Count(r => r.Status == CheckStatus.Fail), warns = report.Results.Count(r => r.Status == CheckStatus.Warn);
        w.WriteLine(report.ExitCode switch
        {
            0 => "result: ready to capture a crash dump",
            1 => $"result: ready, with {warns} warning(s)",
            _ => $"result: NOT READY: {fails} failure(s), {warns} warning(s)",
        });
    }

    /// <summary>Everything `--fix` shows: per finding its commands and lines, then the files --apply would write.</summary>
    public static void WriteFixes(DoctorReport report, FixPlan plan, TextWriter w)
    {
        var m = report.Machine;
        var withFix = report.Results.Where(r => r.Status is CheckStatus.Fail or CheckStatus.Warn && r.Fix is not null).ToList();
        if (withFix.Count == 0)
        {
            w.WriteLine("# nothing to fix");
            return;
        }
        w.WriteLine($"# fixes for {m.Distro.PrettyName} (root {m.Fs.Root})");
        foreach (var r in withFix)
        {
            w.WriteLine($"# {r.Id} ({StatusWord(r.Status)}): {r.Fix!.Summary}");
            foreach (var line in FixRenderer.Render(r.Fix, m))
                w.WriteLine(line.Kind == FixLine.CommandKind ? line.Text : $"#   {line}");
        }
        foreach (var write in plan.Writes)
        {
            w.WriteLine();
            w.WriteLine($"# --- {write.Path} as `kdx doctor --apply{(write.IsBootConfig ? " --yes" : "")}` would write it:");
            w.Write(write.Content);
            if (!write.Content.EndsWith('\n'))
                w.WriteLine();
        }
        if (plan.FollowUp.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("# then:");
            foreach (var c in plan.FollowUp)
                w.WriteLine(c);
        }
    }

    public static void WriteJson(DoctorReport report, Stream stream)
    {
        using var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var m = report.Machine;
        j.WriteStartObject();
        j.WriteString("schema", Schema);
        j.WriteString("root", m.Fs.Root);
        j.WriteStartObject("distro");
        j.WriteString("id", m.Distro.Id);
        j.WriteString("version", m.Distro.VersionId);
        j.WriteString("name", m.Distro.PrettyName);
        j.WriteString("family", m.Distro.Family.ToString().ToLowerInvariant());
        j.WriteEndObject();
        j.WriteString("arch", m.Arch);
        j.WriteString("status", report.Verdict);
        j.WriteNumber("exitCode", report.ExitCode);
        j.WriteStartArray("checks");
        foreach (var r in report.Results)
        {
            j.WriteStartObject();
            j.WriteString("id", r.Id);
            j.WriteString("status", StatusWord(r.Status));
            j.WriteString("message", r.Message);
            if (r.Fix is null)
                j.WriteNull("fix");
            else
                WriteFix(j, r.Fix, m);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void WriteFix(Utf8JsonWriter j, Fix fix, Machine m)
    {
        j.WriteStartObject("fix");
        j.WriteString("summary", fix.Summary);
        j.WriteStartArray("steps");
        foreach (var line in FixRenderer.Render(fix, m))
        {
            j.WriteStartObject();
            j.WriteString("kind", line.Kind);
            if (line.Kind == FixLine.CommandKind)
                j.WriteString("command", line.Text);
            else
            {
                j.WriteString("file", line.File);
                j.WriteString("line", line.Text);
                if (line.ReplacesLine is { } n)
                    j.WriteNumber("replacesLine", n);
                else
                    j.WriteNull("replacesLine");
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }
}
