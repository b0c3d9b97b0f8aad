// `kdx triage DUMP... [--format text|markdown|json|html] [-o FILE]`: what happened, where, in
// which context, the crash signature and what to do next, from the dump alone (docs/triage.md).
using System.CommandLine;
using System.Text;
using Kdx.Triage;
using Kdx.Triage.Rendering;

namespace Kdx.Cli.Commands;

public sealed class TriageCommand : KdxCommand
{
    public static readonly string[] Formats = ["text", "markdown", "json", "html"];

    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var format = new Option<string>("--format", "-f")
        {
            Description = "Report format: text, markdown, json (stable keys, docs/triage.md) or html (one self-contained file).",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong(Formats);
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of standard output." };
        var command = new Command("triage", "One report from a dump: panic class and message, CPU, task and backtrace, context, crash signature, next steps.")
        {
            dumpArg, format, output,
        };
        command.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(dumpArg);
            var (dump, kernel) = KernelDump.Open(paths, "the triage report");
            TriageReport report;
            using (dump)
                report = TriageBuilder.Build(kernel, dump.Cpus, paths[0]);
            var file = parse.GetValue(output);
            if (file is null)
            {
                Render(report, parse.GetValue(format)!, parse.InvocationConfiguration.Output);
                return ExitCodes.Ok;
            }
            var tmp = file + ".tmp";
            using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)))
                Render(report, parse.GetValue(format)!, w);
            File.Move(tmp, file, overwrite: true);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static void Render(TriageReport report, string format, TextWriter o)
    {
        switch (format)
        {
            case "json":
                JsonReport.Write(report, o);
                break;
            case "markdown":
                MarkdownReport.Write(report, o);
                break;
            case "html":
                HtmlReport.Write(report, o);
                break;
            default:
                TextReport.Write(report, o);
                break;
        }
    }
}
