// How much memory the crash kernel needs: an estimate in the spirit of `kdumpctl estimate`
// (kernel + kdump initrd + a runtime allowance scaled with RAM and CPUs), the distributions'
// default crashkernel= tables, and the fadump table for ppc64.
namespace Kdx.Setup.Doctor;

public sealed record CrashKernelEstimate(long Bytes, long KernelBytes, long InitrdBytes, long RuntimeBytes, string? KernelFile, string? InitrdFile);

public static class CrashKernelSizing
{
    /// <summary>Memory a loaded kernel image takes per byte of compressed vmlinuz (text, data, bss).</summary>
    public const int KernelExpansion = 4;

    /// <summary>A compressed initrd is kept and unpacked into tmpfs: about three times its size.</summary>
    public const int InitrdExpansion = 3;

    public const long RuntimeBase = 64 * SizeText.MiB;

    /// <summary>Per GiB of system RAM: vmcore headers, page tables over old memory and makedumpfile's bitmaps.</summary>
    public const long RuntimePerGiB = 1 * SizeText.MiB;

    public const long RuntimePerCpu = 64 * 1024;

    /// <summary>Assumed when the image cannot be found.</summary>
    public const long FallbackKernelFile = 12 * SizeText.MiB;
    public const long FallbackInitrdFile = 32 * SizeText.MiB;

    public static CrashKernelEstimate Estimate(Machine machine, long systemRam)
    {
        var release = machine.KernelRelease;
        var kernel = FirstExisting(machine.Fs, KernelCandidates(release));
        var initrd = FirstExisting(machine.Fs, InitrdCandidates(release));
        long kernelBytes = (kernel?.Size ?? FallbackKernelFile) * KernelExpansion;
        long initrdBytes = (initrd?.Size ?? FallbackInitrdFile) * InitrdExpansion;
        long runtime = RuntimeBase + (systemRam + SizeText.GiB - 1) / SizeText.GiB * RuntimePerGiB + (machine.CpuCount ?? 1) * RuntimePerCpu;
        long total = SizeText.RoundUp(kernelBytes + initrdBytes + runtime, 16 * SizeText.MiB);
        return new CrashKernelEstimate(total, kernelBytes, initrdBytes, runtime, kernel?.Path, initrd?.Path);
    }

    private static IEnumerable<string> KernelCandidates(string? release) => release is null ? [] :
    [
        $"/var/lib/kdump/vmlinuz-{release}", "/var/lib/kdump/vmlinuz", $"/boot/vmlinuz-{release}", $"/lib/modules/{release}/vmlinuz",
        $"/usr/lib/modules/{release}/vmlinuz", $"/boot/Image-{release}", $"/boot/vmlinux-{release}", "/vmlinuz",
    ];

    /// <summary>The kdump initrd built by the tooling (RHEL under /boot or /var/lib/kdump, Debian under /var/lib/kdump).</summary>
    private static IEnumerable<string> InitrdCandidates(string? release) => release is null ? [] :
    [
        $"/boot/initramfs-{release}kdump.img", $"/var/lib/kdump/initramfs-{release}kdump.img",
        $"/var/lib/kdump/initrd.img-{release}", "/var/lib/kdump/initrd.img", $"/boot/initrd.img-{release}", $"/boot/initramfs-{release}.img",
    ];

    private static (string Path, long Size)? FirstExisting(RootedFileSystem fs, IEnumerable<string> paths)
    {
        foreach (var p in paths)
        {
            if (fs.FileSize(p) is { } size and > 0)
                return (p, size);
        }
        return null;
    }

    /// <summary>The distribution's default crashkernel= for its family and architecture, or null when none is known.</summary>
    public static CrashKernelArgument? DefaultFor(Distro distro, string arch)
    {
        string? text = (distro.Family, arch) switch
        {
            (DistroFamily.RedHat, "x86_64") => distro.Id == "rhel" && distro.MajorVersion == 9 && distro.VersionId is "9.0" or "9.1" or "9.2"
                ? "1G-4G:192M,4G-64G:256M,64G-:512M"
                : "2G-64G:256M,64G-:512M",
            (DistroFamily.Debian, "x86_64") when distro.IsUbuntu && distro.MajorVersion >= 24 => "2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M",
            (DistroFamily.Debian, "x86_64") => "512M-:192M",
            _ => null,
        };
        return text is null ? null : CrashKernelArgument.TryParse(text, out _);
    }

    /// <summary>fadump's memory table on ppc64 (RAM in bytes → reservation), or null below 4G where fadump has no entry.</summary>
    public static long? FadumpSize(long systemRam)
    {
        const long T = 1024 * SizeText.GiB;
        (long Below, long Size)[] table =
        [
            (16 * SizeText.GiB, 768 * SizeText.MiB), (64 * SizeText.GiB, 1 * SizeText.GiB), (128 * SizeText.GiB, 2 * SizeText.GiB),
            (1 * T, 4 * SizeText.GiB), (2 * T, 6 * SizeText.GiB), (4 * T, 12 * SizeText.GiB), (8 * T, 20 * SizeText.GiB),
            (16 * T, 36 * SizeText.GiB), (32 * T, 64 * SizeText.GiB), (64 * T, 128 * SizeText.GiB), (long.MaxValue, 180 * SizeText.GiB),
        ];
        if (systemRam < 4 * SizeText.GiB)
            return null;
        foreach (var (below, size) in table)
        {
            if (systemRam < below)
                return size;
        }
        return null;
    }
}
