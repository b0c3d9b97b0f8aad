// The boot loader defaults that carry kernel arguments: /etc/default/grub (GRUB_CMDLINE_LINUX on
// RHEL, GRUB_CMDLINE_LINUX_DEFAULT on Debian/Ubuntu) or kdump-tools' grub.d snippet when present.
namespace Kdx.Setup.Doctor;

public static class BootConfig
{
    public const string GrubDefaults = "/etc/default/grub";
    public const string KdumpToolsSnippet = "/etc/default/grub.d/kdump-tools.cfg";

    public static (string File, string Variable) Locate(Machine machine)
    {
        if (machine.Distro.Family == DistroFamily.RedHat)
            return (GrubDefaults, "GRUB_CMDLINE_LINUX");
        var file = machine.Fs.FileExists(KdumpToolsSnippet) ? KdumpToolsSnippet : GrubDefaults;
        return (file, "GRUB_CMDLINE_LINUX_DEFAULT");
    }

    /// <summary>
    /// Sets <paramref name="name"/>=<paramref name="value"/> in the last assignment of <paramref name="variable"/>,
    /// replacing an earlier value of that parameter; adds an assignment when there is none.
    /// Returns the new text, the new line and the 1-based number of the line it replaces.
    /// </summary>
    public static (string Text, string Line, int? ReplacedLine) SetArgument(string text, string variable, string name, string value)
    {
        bool crlf = text.Contains("\r\n", StringComparison.Ordinal);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        int index = -1;
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].TrimStart().StartsWith(variable + "=", StringComparison.Ordinal))
                index = i;
        }
        string newLine;
        if (index < 0)
        {
            newLine = $"{variable}=\"{name}={value}\"";
            if (lines.Count > 0 && lines[^1].Length == 0)
                lines.Insert(lines.Count - 1, newLine);
            else
                lines.Add(newLine);
        }
        else
        {
            var current = lines[index].Trim();
            var raw = current[(variable.Length + 1)..];
            char quote = raw.Length > 0 && raw[0] is '"' or '\'' ? raw[0] : '\0';
            var inner = quote != '\0' ? raw.Trim(quote) : raw;
            var words = inner.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where(w => !w.StartsWith(name + "=", StringComparison.Ordinal) && w != name)
                .Append($"{name}={value}");
            var q = quote == '\0' ? '"' : quote;
            newLine = $"{variable}={q}{string.Join(' ', words)}{q}";
            lines[index] = newLine;
        }
        var joined = string.Join(crlf ? "\r\n" : "\n", lines);
        return (joined, newLine, index < 0 ? null : index + 1);
    }
}
