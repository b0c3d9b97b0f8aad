// `kdx doctor`: is this machine really able to capture a crash? Runs every doctor check over a root
// (this machine by default) and exits 0 ready, 1 warnings only, 2 not ready, for monitoring.
using System.CommandLine;
using Kdx.Setup.Doctor;

namespace Kdx.Cli.Commands;

public sealed class DoctorCommand(TextReader? input = null) : KdxCommand
{
    public const string Name = "doctor";

    private readonly Option<string> _root = new("--root")
    {
        Description = "Directory that stands for / (a copied or mounted system); nothing is read or written outside it.",
        DefaultValueFactory = _ => "/",
    };
    private readonly Option<bool> _json = new("--json") { Description = "Print the report as JSON (schema in docs/doctor.md)." };
    private readonly Option<bool> _fix = new("--fix") { Description = "Print the commands and file contents that fix each finding on this distribution." };
    private readonly Option<bool> _apply = new("--apply") { Description = "Write the safe fixes (sysctl drop-in) under the root after a y/N confirmation." };
    private readonly Option<bool> _yes = new("--yes", "-y") { Description = "With --apply: do not ask, and also write the boot loader defaults." };
    private readonly Option<string?> _arch = new("--arch") { Description = "Architecture of the root (uname -m style) when it cannot be read from it." };

    public override Command Build()
    {
        var command = new Command(Name, "Check that kdump can really capture a crash on this machine: crashkernel, tooling, target, sysctls, NMI. "
            + "Exit code 0 ready, 1 warnings only, 2 not ready.")
        {
            _root, _json, _fix, _apply, _yes, _arch,
        };
        command.SetAction(Run);
        return command;
    }

    private int Run(ParseResult parse)
    {
        var output = parse.InvocationConfiguration.Output;
        var root = parse.GetValue(_root)!;
        if (!Directory.Exists(root))
            throw new UsageException($"--root {root}: no such directory");
        var context = Doctor.CreateContext(root, parse.GetValue(_arch));
        var report = Doctor.Run(context);

        bool json = parse.GetValue(_json);
        if (json)
        {
            using var buffer = new MemoryStream();
            DoctorOutput.WriteJson(report, buffer);
            output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }
        else
            DoctorOutput.WriteText(report, output);

        if (parse.GetValue(_fix) || parse.GetValue(_apply))
        {
            // With --json, stdout stays pure JSON (whose checks carry the fixes); the rest goes to stderr.
            var text = json ? parse.InvocationConfiguration.Error : output;
            var plan = FixPlan.From(report);
            text.WriteLine();
            DoctorOutput.WriteFixes(report, plan, text);
            if (parse.GetValue(_apply))
                Apply(context.Fs, plan, parse.GetValue(_yes), text);
        }
        return report.ExitCode;
    }

    private void Apply(RootedFileSystem fs, FixPlan plan, bool yes, TextWriter output)
    {
        output.WriteLine();
        var writes = plan.Writes.Where(w => yes || !w.IsBootConfig).ToList();
        foreach (var held in plan.Writes.Except(writes))
            output.WriteLine($"not applying {held.Path}: boot configuration is changed only with --yes");
        if (writes.Count == 0)
        {
            output.WriteLine("nothing to apply");
            return;
        }
        if (!yes)
        {
            output.Write($"write {string.Join(", ", writes.Select(w => w.Path))} under {fs.Root}? [y/N] ");
            var answer = (input ?? Console.In).ReadLine()?.Trim().ToLowerInvariant();
            if (answer is not ("y" or "yes"))
            {
                output.WriteLine("nothing written");
                return;
            }
        }
        foreach (var w in writes)
        {
            FixPlan.Apply(fs, w);
            output.WriteLine($"wrote {fs.HostPath(w.Path)} ({string.Join("; ", w.Changes)})");
        }
        if (plan.FollowUp.Count > 0)
            output.WriteLine("now run: " + string.Join(" && ", plan.FollowUp));
    }
}
