// Which distribution a root holds, from etc/os-release (falling back to usr/lib/os-release): the
// family decides which kdump tooling, config files and fix commands apply.
namespace Kdx.Setup.Doctor;

public enum DistroFamily
{
    Unknown,
    /// <summary>RHEL and its rebuilds, Fedora, CentOS: kdumpctl, /etc/kdump.conf, grubby.</summary>
    RedHat,
    /// <summary>Debian and Ubuntu: kdump-tools, /etc/default/kdump-tools, update-grub.</summary>
    Debian,
}

public sealed record Distro(string Id, string VersionId, string PrettyName, DistroFamily Family)
{
    public static readonly Distro Unknown = new("unknown", "", "unknown distribution", DistroFamily.Unknown);

    public bool IsUbuntu => Id == "ubuntu";

    /// <summary>The major version as a number (9 for "9.4", 24 for "24.04"), or 0.</summary>
    public int MajorVersion
    {
        get
        {
            var head = VersionId.Split('.')[0];
            return int.TryParse(head, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
        }
    }

    public static Distro Detect(RootedFileSystem fs)
    {
        var text = fs.ReadText("/etc/os-release") ?? fs.ReadText("/usr/lib/os-release");
        return text is null ? Unknown : Parse(text);
    }

    public static Distro Parse(string osRelease)
    {
        var vars = ShellVariables.Parse(osRelease).Values;
        string id = vars.GetValueOrDefault("ID", "").ToLowerInvariant();
        string like = vars.GetValueOrDefault("ID_LIKE", "").ToLowerInvariant();
        string version = vars.GetValueOrDefault("VERSION_ID", "");
        string pretty = vars.GetValueOrDefault("PRETTY_NAME", id.Length > 0 ? id : "unknown distribution");
        if (id.Length == 0)
            return Unknown with { PrettyName = pretty };
        var words = like.Split(' ', StringSplitOptions.RemoveEmptyEntries).Prepend(id).ToArray();
        var family = words.Any(w => w is "rhel" or "fedora" or "centos") ? DistroFamily.RedHat
            : words.Any(w => w is "debian" or "ubuntu") ? DistroFamily.Debian
            : DistroFamily.Unknown;
        return new Distro(id, version, pretty, family);
    }
}
