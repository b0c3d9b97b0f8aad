// Everything a check may look at: the machine, its kdump configuration, the probes for disk
// space and dump files, and results shared between checks (parsed once per run).
namespace Kdx.Setup.Doctor;

public sealed class DoctorContext
{
    private readonly Lazy<KdumpConfig?> _config;
    private readonly Lazy<CrashKernelSetting?> _crashKernel;
    private readonly Lazy<TargetDirectory?> _target;

    public DoctorContext(Machine machine, IDiskSpaceProbe diskSpace, IDumpProbe dumpProbe)
    {
        Machine = machine;
        DiskSpace = diskSpace;
        DumpProbe = dumpProbe;
        _config = new(() => KdumpConfig.Load(machine.Fs, machine.Distro.Family));
        _crashKernel = new(() => machine.CommandLine is { } c ? CrashKernelSetting.From(c) : null);
        _target = new(() => Config is { } c ? TargetDirectory.Locate(machine.Fs, c.Target) : null);
    }

    public Machine Machine { get; }

    public RootedFileSystem Fs => Machine.Fs;

    public IDiskSpaceProbe DiskSpace { get; }

    public IDumpProbe DumpProbe { get; }

    /// <summary>The kdump configuration, or null when neither /etc/kdump.conf nor /etc/default/kdump-tools exists.</summary>
    public KdumpConfig? Config => _config.Value;

    /// <summary>crashkernel= from the command line, or null when /proc/cmdline is unreadable.</summary>
    public CrashKernelSetting? CrashKernel => _crashKernel.Value;

    /// <summary>Where local dumps land now, or null without a kdump configuration.</summary>
    public TargetDirectory? Target => _target.Value;

    /// <summary>/sys/kernel/kexec_crash_size in bytes, or null when the kernel (or container) does not show it.</summary>
    public long? ReservedBytes => Fs.ReadInteger("/sys/kernel/kexec_crash_size");

    /// <summary>
    /// Why /sys/kernel/kexec_crash_size is missing: with /sys/kernel visible the kernel lacks crash
    /// dump support (CONFIG_CRASH_DUMP/KEXEC_CORE); with it invisible (a container) nothing can be told.
    /// </summary>
    public string MissingKexecReason(out bool definite)
    {
        definite = Fs.List("/sys/kernel").Count > 0;
        return definite
            ? "this kernel has no kexec crash support (no /sys/kernel/kexec_crash_*): it cannot make a crash dump"
            : "/sys/kernel is not visible (container?): crash kernel state unknown";
    }

    /// <summary>True when fadump (ppc64 firmware-assisted dump) is enabled instead of kdump.</summary>
    public bool FadumpEnabled =>
        Machine.IsPowerPc && (Fs.ReadInteger("/sys/kernel/fadump/enabled") ?? Fs.ReadInteger("/sys/kernel/fadump_enabled")) == 1;

    /// <summary>System RAM for crashkernel= ranges: MemTotal (slightly below what the kernel compares; documented).</summary>
    public long? SystemRam => Machine.MemInfo?.MemTotal;
}

/// <summary>
/// The local directory dumps are written to, as a machine path. For a filesystem named by device,
/// its current mount point is looked up in /proc/mounts; <see cref="Path"/> is null when it cannot be told.
/// </summary>
public sealed record TargetDirectory(string? Path, string Description, string? Problem, bool DeviceMissing)
{
    public static TargetDirectory? Locate(RootedFileSystem fs, DumpTarget target)
    {
        switch (target.Kind)
        {
            case DumpTargetKind.LocalPath:
                return new TargetDirectory(fs.Resolve(target.Path), target.Path, null, false);
            case DumpTargetKind.LocalFilesystem:
            {
                var device = DevicePath(target.Device!);
                if (device is null || !fs.EntryExists(device))
                    return new TargetDirectory(null, target.ToString(), $"device {target.Device} not found{(device is null ? "" : $" ({device})")}", true);
                var mount = MountPointOf(fs, device);
                if (mount is null)
                    return new TargetDirectory(null, target.ToString(), $"{target.Device} is not mounted now; kdump mounts it at crash time, so space cannot be checked", false);
                return new TargetDirectory(fs.Resolve(RootedFileSystem.Combine(mount, target.Path)), target.ToString(), null, false);
            }
            default:
                return null;
        }
    }

    /// <summary>The /dev path for a device spec: /dev/sdb1, UUID=, LABEL=, PARTUUID=, PARTLABEL=.</summary>
    public static string? DevicePath(string spec)
    {
        int eq = spec.IndexOf('=');
        if (eq < 0)
            return spec.StartsWith('/') ? spec : null;
        var value = spec[(eq + 1)..].Trim('"');
        return spec[..eq].ToUpperInvariant() switch
        {
            "UUID" => $"/dev/disk/by-uuid/{value}",
            "LABEL" => $"/dev/disk/by-label/{value}",
            "PARTUUID" => $"/dev/disk/by-partuuid/{value}",
            "PARTLABEL" => $"/dev/disk/by-partlabel/{value}",
            _ => null,
        };
    }

    private static string? MountPointOf(RootedFileSystem fs, string device)
    {
        var mounts = fs.ReadText("/proc/mounts");
        if (mounts is null)
            return null;
        var wanted = fs.Resolve(device);
        foreach (var line in mounts.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !f[0].StartsWith('/'))
                continue;
            if (f[0] == device || fs.Resolve(f[0]) == wanted)
                return f[1].Replace("\\040", " ", StringComparison.Ordinal);
        }
        return null;
    }
}
