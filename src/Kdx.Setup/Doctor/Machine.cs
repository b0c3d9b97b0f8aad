// Facts about the machine behind a root that several checks share: distro, architecture, kernel
// release, CPUs, RAM and the command line. Each is read once.
using System.Runtime.InteropServices;

namespace Kdx.Setup.Doctor;

public sealed class Machine
{
    private readonly Lazy<Distro> _distro;
    private readonly Lazy<KernelCommandLine?> _cmdline;
    private readonly Lazy<MemInfo?> _memInfo;

    public Machine(RootedFileSystem fs, string? arch = null)
    {
        Fs = fs;
        Arch = NormalizeArch(arch ?? DetectArch(fs));
        _distro = new(() => Distro.Detect(fs));
        _cmdline = new(() => fs.ReadText("/proc/cmdline") is { } t ? KernelCommandLine.Parse(t) : null);
        _memInfo = new(() => fs.ReadText("/proc/meminfo") is { } t ? MemInfo.Parse(t) : null);
    }

    public RootedFileSystem Fs { get; }

    /// <summary>uname -m style: x86_64, aarch64, ppc64le, ppc64, s390x, or "unknown".</summary>
    public string Arch { get; }

    public bool IsPowerPc => Arch.StartsWith("ppc64", StringComparison.Ordinal);

    public Distro Distro => _distro.Value;

    /// <summary>The kernel command line, or null when /proc/cmdline cannot be read.</summary>
    public KernelCommandLine? CommandLine => _cmdline.Value;

    /// <summary>/proc/meminfo, or null when missing.</summary>
    public MemInfo? MemInfo => _memInfo.Value;

    public string? KernelRelease => Fs.ReadLine("/proc/sys/kernel/osrelease");

    /// <summary>Online CPUs from /sys/devices/system/cpu/online ("0-3,8"), else /proc/cpuinfo, else null.</summary>
    public int? CpuCount
    {
        get
        {
            if (Fs.ReadLine("/sys/devices/system/cpu/online") is { } online && CountCpuList(online) is { } n)
                return n;
            var cpuinfo = Fs.ReadText("/proc/cpuinfo");
            if (cpuinfo is null)
                return null;
            int count = cpuinfo.Split('\n').Count(l => l.StartsWith("processor", StringComparison.Ordinal) && l.Contains(':'));
            return count > 0 ? count : null;
        }
    }

    /// <summary>Counts a kernel CPU list such as "0-3,8,10-11"; null when malformed.</summary>
    public static int? CountCpuList(string list)
    {
        int count = 0;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2 || !int.TryParse(ends[0], out var a) || a < 0)
                return null;
            int b = a;
            if (ends.Length == 2 && (!int.TryParse(ends[1], out b) || b < a))
                return null;
            count += b - a + 1;
        }
        return count > 0 ? count : null;
    }

    /// <summary>
    /// Arch of the root: /proc/sys/kernel/arch when the kernel has it; a device tree means PowerPC;
    /// this process's architecture only when the root is this machine.
    /// </summary>
    private static string DetectArch(RootedFileSystem fs)
    {
        if (fs.ReadLine("/proc/sys/kernel/arch") is { Length: > 0 } arch)
            return arch;
        if (fs.EntryExists("/proc/device-tree/ibm,powerpc-cpu-features") || fs.List("/proc/device-tree/cpus").Any(n => n.StartsWith("PowerPC,", StringComparison.Ordinal)))
            return "ppc64le";
        if (!fs.IsHostRoot)
            return "unknown";
        return RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x86_64",
            Architecture.Arm64 => "aarch64",
            Architecture.Ppc64le => "ppc64le",
            Architecture.S390x => "s390x",
            _ => RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
        };
    }

    private static string NormalizeArch(string arch) => arch.Trim().ToLowerInvariant() switch
    {
        "amd64" or "x64" => "x86_64",
        "arm64" => "aarch64",
        "ppc64el" => "ppc64le",
        "" => "unknown",
        var a => a,
    };
}
