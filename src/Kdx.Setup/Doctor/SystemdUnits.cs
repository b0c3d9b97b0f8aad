// Is a service enabled, judged from files alone: systemd's symlinks under
// etc/systemd/system/*.wants/, a mask pointing at /dev/null, or SysV rc links on older systems.
namespace Kdx.Setup.Doctor;

public enum UnitState
{
    Missing,
    Disabled,
    Enabled,
    Masked,
}

public static class SystemdUnits
{
    private const string SystemDir = "/etc/systemd/system";

    public static UnitState State(RootedFileSystem fs, string unit)
    {
        var own = $"{SystemDir}/{unit}";
        if (fs.LinkTarget(own) is "/dev/null")
            return UnitState.Masked;
        foreach (var dir in fs.List(SystemDir))
        {
            if (dir.EndsWith(".wants", StringComparison.Ordinal) && fs.EntryExists($"{SystemDir}/{dir}/{unit}"))
                return UnitState.Enabled;
        }
        var service = unit.EndsWith(".service", StringComparison.Ordinal) ? unit[..^8] : unit;
        foreach (var level in new[] { "2", "3", "5", "S" })
        {
            if (fs.List($"/etc/rc{level}.d").Any(n => n.StartsWith('S') && n.TrimStart('S', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9') == service))
                return UnitState.Enabled;
        }
        bool installed = fs.EntryExists(own) || fs.EntryExists($"/usr/lib/systemd/system/{unit}") || fs.EntryExists($"/lib/systemd/system/{unit}") || fs.EntryExists($"/etc/init.d/{service}");
        return installed ? UnitState.Disabled : UnitState.Missing;
    }

    /// <summary>Where a tool is installed among /usr/sbin, /usr/bin, /sbin and /bin, or null.</summary>
    public static string? FindTool(RootedFileSystem fs, string name) =>
        new[] { "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/" }.Select(d => d + name).FirstOrDefault(fs.EntryExists);
}
