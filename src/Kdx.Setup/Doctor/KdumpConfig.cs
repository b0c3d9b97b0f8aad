// The kdump configuration of a root, whichever tooling wrote it: where dumps go, how they are
// collected, what happens on failure, and how kexec loads the crash kernel.
namespace Kdx.Setup.Doctor;

public enum DumpTargetKind
{
    /// <summary>A directory on the root filesystem (path only).</summary>
    LocalPath,
    /// <summary>A directory on a named filesystem ("ext4 UUID=..."), relative to its mount point.</summary>
    LocalFilesystem,
    Raw,
    Nfs,
    Ssh,
}

/// <summary>Where dumps are written. For <see cref="DumpTargetKind.LocalFilesystem"/>, <see cref="Path"/> is inside that filesystem.</summary>
public sealed record DumpTarget(DumpTargetKind Kind, string Path, string? Device = null, string? FsType = null, string? Remote = null)
{
    public bool IsRemote => Kind is DumpTargetKind.Nfs or DumpTargetKind.Ssh;

    public override string ToString() => Kind switch
    {
        DumpTargetKind.LocalPath => Path,
        DumpTargetKind.LocalFilesystem => $"{Path} on {FsType} {Device}",
        DumpTargetKind.Raw => $"raw {Device}",
        DumpTargetKind.Nfs => $"nfs {Remote} (dumps in {Path})",
        _ => $"ssh {Remote}:{Path}",
    };
}

/// <summary>A setting and where it came from, so fixes can name the exact file line.</summary>
public sealed record ConfigValue(string Value, string File, int? Line);

public enum KdumpTooling
{
    /// <summary>RHEL/Fedora kexec-tools: kdumpctl and /etc/kdump.conf.</summary>
    Kdumpctl,
    /// <summary>Debian/Ubuntu kdump-tools: kdump-config and /etc/default/kdump-tools.</summary>
    KdumpTools,
}

public sealed partial class KdumpConfig
{
    public required KdumpTooling Tooling { get; init; }

    /// <summary>The main configuration file (machine path).</summary>
    public required string File { get; init; }

    public required DumpTarget Target { get; init; }

    public required CoreCollector Collector { get; init; }

    /// <summary>Where the collector came from (null when the tooling's default applies).</summary>
    public ConfigValue? CollectorSetting { get; init; }

    /// <summary>RHEL failure_action (or the older "default"); Debian has no equivalent.</summary>
    public ConfigValue? FailureAction { get; init; }

    public ConfigValue? FinalAction { get; init; }

    /// <summary>Extra kexec arguments (RHEL KEXEC_ARGS in /etc/sysconfig/kdump, Debian KDUMP_KEXEC_ARGS).</summary>
    public ConfigValue? KexecArgs { get; init; }

    /// <summary>Debian's USE_KDUMP; null for tooling without the switch.</summary>
    public ConfigValue? Enabled { get; init; }

    /// <summary>An explicit kexec_file_load switch (KDUMP_FILE_LOAD), when the config has one.</summary>
    public ConfigValue? FileLoad { get; init; }

    public required IReadOnlyList<ConfigProblem> Problems { get; init; }

    /// <summary>Reads the kdump configuration present in the root, preferring the distro family's own; null when there is none.</summary>
    public static KdumpConfig? Load(RootedFileSystem fs, DistroFamily family)
    {
        var rhel = fs.ReadText(RedHatFile);
        var debian = fs.ReadText(DebianFile);
        if (rhel is not null && (family != DistroFamily.Debian || debian is null))
            return ParseRedHat(rhel, fs.ReadText(RedHatSysconfigFile));
        if (debian is not null)
            return ParseDebian(debian);
        return null;
    }

    /// <summary>
    /// How kexec will load the crash kernel according to the config: true for kexec_file_load
    /// (-s, KDUMP_FILE_LOAD=true), false for kexec_load (-c), null when left to the tooling.
    /// </summary>
    public bool? UsesFileLoad
    {
        get
        {
            if (FileLoad is not null)
                return ShellVariables.IsTrue(FileLoad.Value);
            var words = KexecArgs?.Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (words.Any(w => w is "-s" or "--kexec-file-syscall"))
                return true;
            if (words.Any(w => w is "-c" or "--kexec-syscall"))
                return false;
            return null;
        }
    }
}
