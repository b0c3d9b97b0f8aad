// Reading Debian/Ubuntu /etc/default/kdump-tools (shell variables used by kdump-config).
namespace Kdx.Setup.Doctor;

public sealed partial class KdumpConfig
{
    public const string DebianFile = "/etc/default/kdump-tools";
    public const string DebianDefaultMakedumpArgs = "-c -d 31";

    public static KdumpConfig ParseDebian(string text)
    {
        var vars = ShellVariables.Parse(text);
        var problems = new List<ConfigProblem>(vars.Problems);
        ConfigValue? Setting(string name) =>
            vars.Get(name) is { } v ? new ConfigValue(v, DebianFile, vars.Lines[name]) : null;

        string coreDir = vars.Get("KDUMP_COREDIR") is { Length: > 0 } dir ? dir : "/var/crash";
        DumpTarget target;
        if (vars.Get("SSH") is { Length: > 0 } ssh)
            target = new DumpTarget(DumpTargetKind.Ssh, coreDir, Remote: ssh);
        else if (vars.Get("NFS") is { Length: > 0 } nfs)
            target = new DumpTarget(DumpTargetKind.Nfs, coreDir, Remote: nfs);
        else
            target = new DumpTarget(DumpTargetKind.LocalPath, coreDir);
        if (vars.Get("SSH") is { Length: > 0 } && vars.Get("NFS") is { Length: > 0 })
            problems.Add(new ConfigProblem(vars.Lines["NFS"], "both SSH and NFS are set; kdump-tools uses SSH"));

        var args = Setting("MAKEDUMP_ARGS");
        var collector = CoreCollector.Parse("makedumpfile " + (args?.Value ?? DebianDefaultMakedumpArgs));
        foreach (var p in collector.Problems)
            problems.Add(new ConfigProblem(args?.Line ?? 0, p));

        var enabled = Setting("USE_KDUMP");
        if (enabled is not null && enabled.Value.Trim() is not ("0" or "1"))
            problems.Add(new ConfigProblem(enabled.Line ?? 0, $"USE_KDUMP='{ShellVariables.Clip(enabled.Value)}' should be 1 or 0"));

        return new KdumpConfig
        {
            Tooling = KdumpTooling.KdumpTools,
            File = DebianFile,
            Target = target,
            Collector = collector,
            CollectorSetting = args,
            KexecArgs = Setting("KDUMP_KEXEC_ARGS"),
            Enabled = enabled,
            FileLoad = Setting("KDUMP_FILE_LOAD"),
            Problems = problems,
        };
    }
}
