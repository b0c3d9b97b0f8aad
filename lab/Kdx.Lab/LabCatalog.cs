// The scenarios the test suites share, so one CI run builds each real crash once. Any test
// project asks for them by name; the first caller builds (minutes), later callers hit the cache.
namespace Kdx.Lab;

public static class LabCatalog
{
    /// <summary>A real kdump capture (kexec'd capture kernel, makedumpfile 1.7.2 in the guest) of a sysrq crash,
    /// written several ways: -l and -c at -d 31, -c at -d 1, flattened, and split into 3 parts.</summary>
    public static Scenario SysrqKdump() => ScenarioOptions.Create("default", "sysrq",
    [
        "kdump-mdf:-l,-d,31", "kdump-mdf:-c,-d,31", "kdump-mdf:-c,-d,1", "kdump-mdf:-F,-l,-d,31", "kdump-mdf:--split,-l,-d,31",
    ]);

    /// <summary>A real kdump capture of a sysrq crash by makedumpfile 1.7.2 -l -d 1 in the guest: lzo, only zero
    /// pages left out, so it holds every page the 1 GiB guest used (the read-every-page benchmark's input).</summary>
    public static Scenario SysrqKdumpLzoLevel1() => ScenarioOptions.Create("default", "sysrq", ["kdump-mdf:-l,-d,1"]);

    /// <summary>QEMU's own dumps of a sysrq crash: ELF (with VMCOREINFO via -device vmcoreinfo) and kdump-zlib.</summary>
    public static Scenario SysrqQemu() => ScenarioOptions.Create("default", "sysrq", [CaptureSpec.QemuElf, CaptureSpec.QemuKdumpZlib]);

    /// <summary>QEMU's ELF dump of a 4 GiB guest whose memory is partly used (lab/guest/fill-memory.sh:
    /// about 840 MiB of incompressible and compressible file data in a tmpfs) before a sysrq crash: the large input of the capture benchmark.</summary>
    public static Scenario SysrqQemuLarge() => ScenarioOptions.Create("default", "script", [CaptureSpec.QemuElf], ramMiB: 4096,
        script: Path.Combine(LabPaths.GuestDir, "fill-memory.sh"));

    /// <summary>An unknown NMI from the QEMU monitor with unknown_nmi_panic=1.</summary>
    public static Scenario NmiQemu() => ScenarioOptions.Create("default", "nmi", [CaptureSpec.QemuElf, CaptureSpec.QemuKdumpZlib]);

    /// <summary>A raw copy of /proc/vmcore (ELF) from a real capture kernel; small guest, the copy is slow under TCG.</summary>
    public static Scenario SysrqKdumpRawElf() => ScenarioOptions.Create("default", "sysrq", [CaptureSpec.KdumpCat], ramMiB: 384, crashKernelMiB: 160);

    /// <summary>kdx capture as the core collector inside the real capture kernel (-l -d 31, flattened -c -d 31, a
    /// 3-part --split -l -d 31, and flattened -l -d 1, which reads every RAM page), beside makedumpfile 1.7.2 -l -d 31
    /// and flattened -l -d 1 on the same /proc/vmcore (-d 1 is flattened, streamed to the disk: its ~80 MiB do not fit
    /// the capture kernel's RAM-backed root). <paramref name="kdx"/> is a NativeAOT kdx.</summary>
    public static Scenario SysrqKdumpKdx(string kdx) => ScenarioOptions.Create("default", "sysrq",
        ["kdump-kdx:-l,-d,31", "kdump-kdx:-F,-c,-d,31", "kdump-mdf:-l,-d,31", "kdump-kdx:--split,-l,-d,31", "kdump-kdx:-F,-l,-d,1", "kdump-mdf:-F,-l,-d,1"],
        files: [$"{kdx}:kdx"]);

    /// <summary>
    /// The capture-kernel benchmark: the kdump kernel of a 1 GiB sysrq-crashed guest (nr_cpus=1, crashkernel=256M)
    /// runs lab/guest/capture-bench.sh, which times <paramref name="kdx"/> (a NativeAOT kdx) and makedumpfile 1.7.2
    /// on its /proc/vmcore and prints one KDXLAB-BENCH line per run; makedumpfile -l -d 31 is the scenario's collector.
    /// The kdx binary's contents are part of the cache key: a new kdx is a new run. <paramref name="boot"/> &gt; 0: another
    /// crash of the same scenario (another KASLR offset and crashkernel position, other memory contents).
    /// </summary>
    public static Scenario CaptureKernelBench(string kdx, int boot = 0) => ScenarioOptions.Create("default", "sysrq", ["kdump-mdf:-l,-d,31"],
        captureScript: Path.Combine(LabPaths.GuestDir, "capture-bench.sh"), files: [$"{kdx}:kdx"], boot: boot);

    /// <summary>One QEMU-captured scenario per crash kind (the crashtest module drives oops, bug, warn, softlockup, hung).</summary>
    public static Scenario Kind(CrashKind kind) => Kind(kind, 0);

    /// <summary>
    /// The same scenario as <see cref="Kind(CrashKind)"/> booted again as a separate cache entry
    /// (<paramref name="boot"/> &gt; 0): another KASLR offset, other PIDs, the same crash.
    /// </summary>
    public static Scenario Kind(CrashKind kind, int boot) => ScenarioOptions.Create("default", kind.ToString(), [CaptureSpec.QemuKdumpZlib], boot: boot);

    /// <summary>
    /// One crash kind captured by QEMU as ELF: the form drgn 0.3 reads (its libkdumpfile fails on
    /// QEMU's kdump-zlib files with "KDUMP_ATTR_ARCH_NAME: Key has no value").
    /// </summary>
    public static Scenario KindElf(CrashKind kind) => ScenarioOptions.Create("default", kind.ToString(), [CaptureSpec.QemuElf]);

    /// <summary>5-level paging (NUMBER(pgtable_l5_enabled)=1) with KASLR on.</summary>
    public static Scenario La57Qemu() => ScenarioOptions.Create("default", "sysrq", [CaptureSpec.QemuElf], la57: true);

    /// <summary>KASLR off: kernel text at its link address.</summary>
    public static Scenario NoKaslrQemu() => ScenarioOptions.Create("default", "sysrq", [CaptureSpec.QemuElf], kaslr: false);

    /// <summary>An older Debian 6.1 ABI than the default, so nothing can lean on one build's layout.</summary>
    public const string OlderAbi = "6.1.0-47-amd64";

    /// <summary>Other kernels: an older ABI and the -cloud and -rt flavors, each crashed by sysrq.</summary>
    public static Scenario OtherKernel(string release) => ScenarioOptions.Create(release, "sysrq", [CaptureSpec.QemuKdumpZlib]);

    public static IReadOnlyList<string> OtherKernels =>
        [OlderAbi, ScenarioOptions.ResolveKernel("default-cloud"), ScenarioOptions.ResolveKernel("default-rt")];

    public static LabResult Build(Scenario s) => LabBuilder.Build(s, Console.Error);
}
