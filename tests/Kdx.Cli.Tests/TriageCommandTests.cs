// `kdx triage` from the command line: each format on a real lab dump, -o writing the file, and
// usage errors (unknown format, missing dump) as one line and exit code 1.
using System.Text.Json;
using Kdx.Lab;

namespace Kdx.Cli.Tests;

public class TriageCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    private static string SysrqDump() => LabCatalog.Build(LabCatalog.Kind(CrashKind.Sysrq)).Dump(CaptureSpec.QemuKdumpZlib);

    [Fact]
    public void Json_to_a_file_and_text_to_stdout()
    {
        var dump = SysrqDump();
        var file = Path.Combine(Path.GetTempPath(), $"kdx-triage-{Environment.ProcessId}.json");
        try
        {
            var (code, stdout, err) = Run("triage", dump, "--format", "json", "-o", file);
            Assert.Equal((0, "", ""), (code, stdout, err));
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal("sysrq", doc.RootElement.GetProperty("panic_class").GetString());
            Assert.Equal("sysrq triggered crash", doc.RootElement.GetProperty("panic_message").GetString());

            var text = Run("triage", dump);
            Assert.Equal(0, text.Code);
            Assert.StartsWith("kdx triage: sysrq — sysrq triggered crash", text.Out);
            Assert.Contains(doc.RootElement.GetProperty("signature_hash").GetString()!, text.Out);
            Assert.Contains("<details id=\"log\">", Run("triage", dump, "--format", "html").Out);
            Assert.Contains("## What happened", Run("triage", dump, "--format", "markdown").Out);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Usage_and_input_errors_are_one_line()
    {
        var (code, _, err) = Run("triage", Path.Combine(Path.GetTempPath(), "kdx-no-such-vmcore"));
        Assert.Equal(1, code);
        Assert.Contains("no such file", Assert.Single(err.Trim().Split('\n')));
        (code, _, err) = Run("triage", SysrqDump(), "--format", "pdf");
        Assert.Equal(1, code);
        Assert.Contains("pdf", err);
        // Not a dump at all: bad input, exit 2, the file and offset named.
        var notDump = Path.Combine(Path.GetTempPath(), $"kdx-triage-not-a-dump-{Environment.ProcessId}");
        File.WriteAllText(notDump, "hello");
        try
        {
            (code, _, err) = Run("triage", notDump);
            Assert.Equal(2, code);
            Assert.Contains("offset 0x0", Assert.Single(err.Trim().Split('\n')));
        }
        finally
        {
            File.Delete(notDump);
        }
    }
}
