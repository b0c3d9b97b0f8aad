// Turns fix steps into the exact commands and file lines for this machine's distribution:
// grubby or update-grub for kernel arguments, the kdx sysctl drop-in for sysctls.
namespace Kdx.Setup.Doctor;

/// <summary>One rendered line of a fix: a command to run, or a line for a file (replacing a numbered line when given).</summary>
public sealed record FixLine(string Kind, string Text, string? File = null, int? ReplacesLine = null)
{
    public const string CommandKind = "command";
    public const string FileKind = "file";

    public override string ToString() => Kind == CommandKind
        ? "$ " + Text
        : ReplacesLine is { } n ? $"{File}:{n}: {Text}" : $"{File}: {Text}";
}

public static class FixRenderer
{
    public const string SysctlDropIn = "/etc/sysctl.d/90-kdx-kdump.conf";

    public static IReadOnlyList<FixLine> Render(Fix fix, Machine machine) => fix.Steps.SelectMany(s => Render(s, machine)).ToList();

    public static IEnumerable<FixLine> Render(FixStep step, Machine machine)
    {
        switch (step)
        {
            case RunCommand c:
                yield return new FixLine(FixLine.CommandKind, c.Command);
                break;
            case SetSysctl s:
                yield return new FixLine(FixLine.FileKind, $"{s.Key} = {s.Value}", SysctlDropIn);
                yield return new FixLine(FixLine.CommandKind, $"sysctl -w {s.Key}={s.Value}");
                break;
            case SetConfigLine l:
                yield return new FixLine(FixLine.FileKind, l.Line, l.File, l.ReplacesLine);
                break;
            case SetKernelArgument k:
                foreach (var line in RenderKernelArgument(k, machine))
                    yield return line;
                break;
        }
    }

    private static IEnumerable<FixLine> RenderKernelArgument(SetKernelArgument k, Machine machine)
    {
        var family = machine.Distro.Family;
        if (family != DistroFamily.Debian)
            yield return new FixLine(FixLine.CommandKind, $"grubby --update-kernel=ALL --args=\"{k.Text}\"");
        var grub = BootConfig.Locate(machine);
        var edit = BootConfig.SetArgument(machine.Fs.ReadText(grub.File) ?? "", grub.Variable, k.Name, k.Value);
        yield return new FixLine(FixLine.FileKind, edit.Line, grub.File, edit.ReplacedLine);
        if (family != DistroFamily.RedHat)
            yield return new FixLine(FixLine.CommandKind, "update-grub");
    }
}
