// Reading RHEL/Fedora /etc/kdump.conf (one "directive value" per line) and /etc/sysconfig/kdump.
namespace Kdx.Setup.Doctor;

public sealed partial class KdumpConfig
{
    public const string RedHatFile = "/etc/kdump.conf";
    public const string RedHatSysconfigFile = "/etc/sysconfig/kdump";
    public const string RedHatDefaultCollector = "makedumpfile -l --message-level 7 -d 31";

    private static readonly HashSet<string> LocalFsTypes = ["ext2", "ext3", "ext4", "xfs", "btrfs", "minix", "virtiofs"];

    private static readonly HashSet<string> OtherDirectives =
    [
        "sshkey", "kdump_pre", "kdump_post", "extra_bins", "extra_modules", "dracut_args", "force_rebuild",
        "force_no_rebuild", "fence_kdump_args", "fence_kdump_nodes", "auto_reset_crashkernel", "link_delay",
        "disk_timeout", "options", "blacklist", "mdadm_conf",
    ];

    public static readonly string[] FailureActions = ["reboot", "halt", "poweroff", "shell", "dump_to_rootfs"];
    public static readonly string[] FinalActions = ["reboot", "halt", "poweroff"];

    public static KdumpConfig ParseRedHat(string text, string? sysconfig = null)
    {
        var problems = new List<ConfigProblem>();
        string path = "/var/crash";
        DumpTarget? target = null;
        ConfigValue? collector = null, failure = null, final = null;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = StripComment(lines[i].TrimEnd('\r')).Trim();
            if (line.Length == 0)
                continue;
            int space = line.IndexOfAny([' ', '\t']);
            var directive = space < 0 ? line : line[..space];
            var value = space < 0 ? "" : line[(space + 1)..].Trim();
            int lineNo = i + 1;
            if (value.Length == 0 && directive is not ("force_rebuild" or "force_no_rebuild"))
            {
                problems.Add(new ConfigProblem(lineNo, $"'{directive}' has no value"));
                continue;
            }
            switch (directive)
            {
                case "path":
                    path = value;
                    break;
                case "raw":
                    target = SetTarget(target, new DumpTarget(DumpTargetKind.Raw, "", Device: value), lineNo, problems);
                    break;
                case "nfs":
                    target = SetTarget(target, new DumpTarget(DumpTargetKind.Nfs, "", Remote: value), lineNo, problems);
                    break;
                case "ssh":
                    target = SetTarget(target, new DumpTarget(DumpTargetKind.Ssh, "", Remote: value), lineNo, problems);
                    break;
                case "core_collector":
                    collector = new ConfigValue(value, RedHatFile, lineNo);
                    break;
                case "failure_action" or "default":
                    failure = CheckedValue(directive, value, FailureActions, lineNo, problems);
                    break;
                case "final_action":
                    final = CheckedValue(directive, value, FinalActions, lineNo, problems);
                    break;
                default:
                    if (LocalFsTypes.Contains(directive))
                        target = SetTarget(target, new DumpTarget(DumpTargetKind.LocalFilesystem, "", Device: value, FsType: directive), lineNo, problems);
                    else if (!OtherDirectives.Contains(directive))
                        problems.Add(new ConfigProblem(lineNo, $"unknown directive '{ShellVariables.Clip(directive)}'"));
                    break;
            }
        }
        target = (target ?? new DumpTarget(DumpTargetKind.LocalPath, "")) with { Path = MergePath(target, path) };
        var sys = sysconfig is null ? null : ShellVariables.Parse(sysconfig);
        // kdumpctl's default collector gains -F for targets that take a stream.
        var defaultCollector = target.Kind is DumpTargetKind.Raw or DumpTargetKind.Ssh ? RedHatDefaultCollector + " -F" : RedHatDefaultCollector;
        var coll = CoreCollector.Parse(collector?.Value ?? defaultCollector);
        foreach (var p in coll.Problems)
            problems.Add(new ConfigProblem(collector?.Line ?? 0, p));
        return new KdumpConfig
        {
            Tooling = KdumpTooling.Kdumpctl,
            File = RedHatFile,
            Target = target,
            Collector = coll,
            CollectorSetting = collector,
            FailureAction = failure,
            FinalAction = final,
            KexecArgs = sys?.Get("KEXEC_ARGS") is { } k ? new ConfigValue(k, RedHatSysconfigFile, sys.Lines["KEXEC_ARGS"]) : null,
            Problems = problems,
        };
    }

    private static string MergePath(DumpTarget? target, string path) =>
        target is null || target.Kind != DumpTargetKind.Raw ? path : "";

    private static DumpTarget SetTarget(DumpTarget? previous, DumpTarget next, int line, List<ConfigProblem> problems)
    {
        if (previous is not null)
            problems.Add(new ConfigProblem(line, $"second dump target ({next.Kind}) replaces {previous.Kind}; kdumpctl accepts only one"));
        return next;
    }

    private static ConfigValue CheckedValue(string directive, string value, string[] allowed, int line, List<ConfigProblem> problems)
    {
        if (!allowed.Contains(value))
            problems.Add(new ConfigProblem(line, $"{directive} '{ShellVariables.Clip(value)}' is not one of {string.Join('|', allowed)}"));
        return new ConfigValue(value, RedHatFile, line);
    }

    private static string StripComment(string line)
    {
        int hash = line.IndexOf('#');
        return hash < 0 ? line : line[..hash];
    }
}
