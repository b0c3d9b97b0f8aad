// What `kdx doctor --apply` would write: the sysctl drop-in (safe) and the boot loader defaults
// (only with --yes), merged from every finding, plus the commands still left to the administrator.
// Writes stay under the root and are atomic (temporary file, then rename).
namespace Kdx.Setup.Doctor;

/// <summary>A whole-file write under the root; <see cref="BootConfig"/> writes need explicit consent (--yes).</summary>
public sealed record PlannedWrite(string Path, string Content, bool IsBootConfig, IReadOnlyList<string> Changes);

public sealed class FixPlan
{
    private const string DropInHeader = "# Written by kdx doctor --apply: settings that turn failures into crash dumps.";

    private FixPlan(IReadOnlyList<PlannedWrite> writes, IReadOnlyList<string> followUp)
    {
        Writes = writes;
        FollowUp = followUp;
    }

    public IReadOnlyList<PlannedWrite> Writes { get; }

    /// <summary>Commands to run once the files are written (kdx never runs them).</summary>
    public IReadOnlyList<string> FollowUp { get; }

    public static FixPlan From(DoctorReport report)
    {
        var machine = report.Machine;
        var steps = report.Results.Where(r => r.Status is CheckStatus.Fail or CheckStatus.Warn && r.Fix is not null).SelectMany(r => r.Fix!.Steps).ToList();
        var writes = new List<PlannedWrite>();
        var followUp = new List<string>();

        var sysctls = steps.OfType<SetSysctl>().DistinctBy(s => s.Key).ToList();
        if (sysctls.Count > 0)
        {
            var existing = machine.Fs.ReadText(FixRenderer.SysctlDropIn);
            writes.Add(new PlannedWrite(FixRenderer.SysctlDropIn, MergeSysctls(existing, sysctls), false, sysctls.Select(s => $"{s.Key} = {s.Value}").ToList()));
            followUp.Add($"sysctl -p {FixRenderer.SysctlDropIn}");
        }

        if (steps.OfType<SetKernelArgument>().FirstOrDefault() is { } arg)
        {
            var (file, variable) = BootConfig.Locate(machine);
            var edit = BootConfig.SetArgument(machine.Fs.ReadText(file) ?? "", variable, arg.Name, arg.Value);
            writes.Add(new PlannedWrite(file, edit.Text, true, [edit.Line]));
            followUp.Add(machine.Distro.Family == DistroFamily.RedHat ? $"grubby --update-kernel=ALL --args=\"{arg.Text}\"" : "update-grub");
            followUp.Add("reboot");
        }
        return new FixPlan(writes, followUp);
    }

    /// <summary>Sets each key in a sysctl.d file, replacing its earlier line and keeping everything else.</summary>
    public static string MergeSysctls(string? existing, IReadOnlyList<SetSysctl> settings)
    {
        var lines = (existing ?? DropInHeader + "\n").Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n').ToList();
        foreach (var s in settings)
        {
            var line = $"{s.Key} = {s.Value}";
            int at = lines.FindIndex(l => KeyOf(l) == s.Key);
            if (at >= 0)
                lines[at] = line;
            else
                lines.Add(line);
        }
        return string.Join('\n', lines) + "\n";
    }

    private static string? KeyOf(string line)
    {
        var t = line.Trim().TrimStart('-');
        int eq = t.IndexOf('=');
        return t.StartsWith('#') || t.StartsWith(';') || eq <= 0 ? null : t[..eq].Trim().Replace('/', '.');
    }

    /// <summary>Writes one planned file under the root: a temporary file beside it, then an atomic rename.</summary>
    public static void Apply(RootedFileSystem fs, PlannedWrite write)
    {
        var target = fs.HostPath(fs.Resolve(write.Path));
        var dir = System.IO.Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(dir);
        var temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(target)}.kdx-{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temp, write.Content);
            if (File.Exists(target) && OperatingSystem.IsLinux())
                File.SetUnixFileMode(temp, File.GetUnixFileMode(target));
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }
}
