// kdump.config: the kdump configuration parses cleanly (unknown directives, bad values), and its
// collector, failure_action and final_action make sense for the target.
namespace Kdx.Setup.Doctor.Checks;

public sealed class KdumpConfigCheck : IDoctorCheck
{
    private const int ProblemsShown = 3;

    public string Id => "kdump.config";

    public CheckResult Run(DoctorContext context)
    {
        var c = context.Config;
        if (c is null)
        {
            var tool = SystemdUnits.FindTool(context.Fs, "kdumpctl") ?? SystemdUnits.FindTool(context.Fs, "kdump-config");
            if (tool is null)
                return CheckResult.Skip(Id, $"no {KdumpConfig.RedHatFile} or {KdumpConfig.DebianFile}: without kdump tooling, where dumps go is up to the capture initramfs");
            return CheckResult.Warn(Id, $"{tool} is installed but neither {KdumpConfig.RedHatFile} nor {KdumpConfig.DebianFile} exists: the tooling's defaults apply",
                new Fix("reinstall the kdump tooling to restore its configuration file",
                    new RunCommand(tool.EndsWith("kdumpctl", StringComparison.Ordinal) ? "dnf reinstall -y kexec-tools" : "apt-get install --reinstall -o Dpkg::Options::=--force-confmiss kdump-tools")));
        }
        var summary = $"{c.File}: target {c.Target}, collector '{c.Collector.CommandLine}'"
            + (c.FailureAction is { } f ? $", failure_action {f.Value}" : "")
            + (c.FinalAction is { } a ? $", final_action {a.Value}" : "");

        if (c.Problems.Count > 0)
        {
            var shown = string.Join("; ", c.Problems.Take(ProblemsShown).Select(p => p.Line > 0 ? $"line {p.Line}: {p.Message}" : p.Message));
            var more = c.Problems.Count > ProblemsShown ? $" (+{c.Problems.Count - ProblemsShown} more)" : "";
            var verb = c.Tooling == KdumpTooling.Kdumpctl ? "kdumpctl may refuse to start" : "kdump-config may ignore them";
            return CheckResult.Warn(Id, $"{c.File}: {shown}{more}; {verb}", CommentOutFix(context, c));
        }

        if (c.Collector.IsMakedumpfile && SystemdUnits.FindTool(context.Fs, "makedumpfile") is null)
            return CheckResult.Fail(Id, $"the collector is makedumpfile, but makedumpfile is not installed: the kdump initrd cannot carry it",
                new Fix("install makedumpfile", new RunCommand(c.Tooling == KdumpTooling.Kdumpctl ? "dnf install -y makedumpfile kexec-tools" : "apt-get install -y makedumpfile"),
                    new RunCommand(DumpTargetCheck.RestartCommand(c))));

        // kdumpctl refuses stream targets without -F; kdump-config adds it itself.
        if (c.Tooling == KdumpTooling.Kdumpctl && c.Target.Kind is DumpTargetKind.Raw or DumpTargetKind.Ssh && c.Collector.IsMakedumpfile && !c.Collector.Flattened)
        {
            var line = c.Collector.CommandLine.Replace("makedumpfile", "makedumpfile -F", StringComparison.Ordinal);
            return CheckResult.Warn(Id, $"{c.Target.Kind} target needs makedumpfile's flattened output (-F), but the collector is '{c.Collector.CommandLine}'",
                new Fix("add -F to the core collector", new SetConfigLine(c.File, $"core_collector {line}", c.CollectorSetting?.Line)));
        }

        if (c.FailureAction?.Value == "shell" || c.FinalAction?.Value is "halt" or "poweroff")
            return CheckResult.Ok(Id, summary + " (the machine stays down after a dump until someone acts)");
        return CheckResult.Ok(Id, summary);
    }

    /// <summary>Comments out each line a problem names (the tooling then falls back to its default), then restarts the service.</summary>
    private static Fix CommentOutFix(DoctorContext context, KdumpConfig c)
    {
        var lines = context.Fs.ReadText(c.File)?.Split('\n') ?? [];
        var steps = c.Problems.Select(p => p.Line).Where(n => n > 0 && n <= lines.Length).Distinct().Order()
            .Select(n => (FixStep)new SetConfigLine(c.File, "#" + lines[n - 1].TrimEnd('\r'), n))
            .Append(new RunCommand(DumpTargetCheck.RestartCommand(c)));
        return new Fix($"correct the lines named in {c.File}, or comment them out as shown", steps.ToList());
    }
}
