// Bad or unusual input gives warnings, never exceptions: random text into every parser (CsCheck),
// random file contents into a whole fixture, an empty root like a locked-down container.
using CsCheck;
using Kdx.Setup.Doctor;
using Kdx.Setup.Doctor.Checks;

namespace Kdx.Setup.Tests.Doctor;

public sealed class RobustnessTests
{
    /// <summary>Text made of the pieces these files are made of, so random inputs get past the first character.</summary>
    private static readonly Gen<string> ConfigLikeText =
        Gen.OneOf(
            Gen.OneOf("crashkernel=", "256M", "1G-4G:192M", ",", ":", "-", "@", "\r\n", "\n", "#", " ", "\t", "\"", "'", "\\",
                "path ", "ext4 ", "UUID=", "core_collector ", "makedumpfile ", "-d ", "31", "-c", "-F", "failure_action ", "nfs ",
                "ssh ", "raw ", "USE_KDUMP=", "MAKEDUMP_ARGS=", "KDUMP_COREDIR=", "SSH=", "export ", "=", "MemTotal:", " kB",
                "99999999999999999999", "0x", "high", "low", "auto", "[", "]", "(null)", "/var/crash", "ID=", "rhel", "ID_LIKE=", "--"),
            Gen.String)
        .Array[0, 40].Select(string.Concat);

    private static void NoThrowParsers(string text)
    {
        var cmdline = KernelCommandLine.Parse(text);
        CrashKernelSetting.From(cmdline).Main?.SizeFor(16L << 30);
        CrashKernelArgument.TryParse(text, out _)?.SizeFor(1L << 40);
        _ = KdumpConfig.ParseRedHat(text, text).UsesFileLoad;
        _ = KdumpConfig.ParseDebian(text).UsesFileLoad;
        var mem = MemInfo.Parse(text);
        DumpSizeEstimate.For(mem, CoreCollector.Parse(text));
        Distro.Parse(text);
        ShellVariables.Parse(text);
        FixtureDiskSpaceProbe.Parse(text);
        NmimgrParameters.ParseList(text);
        Machine.CountCpuList(text);
        SizeText.ParseBytes(text);
        BootConfig.SetArgument(text, "GRUB_CMDLINE_LINUX", "crashkernel", "256M");
        FixPlan.MergeSysctls(text, [new SetSysctl("kernel.sysrq", "1")]);
        ExistingDumps.StampOf(text);
        SignatureDumpProbe.Classify(System.Text.Encoding.UTF8.GetBytes(text));
    }

    [Fact]
    public void Parsers_never_throw_on_random_text() => ConfigLikeText.Sample(NoThrowParsers, iter: 3000);

    [Fact]
    public void Crashkernel_parse_is_total_and_sizes_are_non_negative() =>
        ConfigLikeText.Sample(text =>
        {
            var arg = CrashKernelArgument.TryParse(text, out var error);
            Assert.True((arg is null) != (error is null));
            Assert.True(arg?.SizeFor(8L << 30) is null or >= 0);
        }, iter: 3000);

    [Fact]
    public void Boot_config_edit_keeps_other_lines_and_sets_the_argument_once() =>
        ConfigLikeText.Sample(text =>
        {
            var (edited, line, _) = BootConfig.SetArgument(text, "GRUB_CMDLINE_LINUX", "crashkernel", "256M");
            Assert.Contains(line, edited);
            Assert.Single(line.Split(' ', '"'), w => w.StartsWith("crashkernel=", StringComparison.Ordinal));
        }, iter: 1000);

    /// <summary>The files the doctor reads, each filled with random text in a ready fixture.</summary>
    private static readonly string[] FilesRead =
    [
        "/proc/cmdline", "/proc/meminfo", "/sys/kernel/kexec_crash_size", "/sys/kernel/kexec_crash_loaded",
        "/etc/os-release", KdumpConfig.RedHatFile, KdumpConfig.RedHatSysconfigFile, "/proc/sys/kernel/sysrq",
        "/proc/sys/kernel/unknown_nmi_panic", "/sys/kernel/security/lockdown", "/sys/devices/system/cpu/online",
        "/proc/mounts", FixtureDiskSpaceProbe.TablePath, "/sys/module/nmimgr/parameters/events_panic", "/proc/sys/kernel/arch",
    ];

    [Fact]
    public void Whole_run_survives_random_file_contents()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        Gen.Select(Gen.Int[0, FilesRead.Length - 1], ConfigLikeText).Array[1, 6].Sample(edits =>
        {
            foreach (var (file, text) in edits)
                f.File(FilesRead[file], text);
            var report = f.Run();
            Assert.DoesNotContain(report.Results, r => r.Message.StartsWith("check could not run", StringComparison.Ordinal));
            Assert.Equal(Kdx.Setup.Doctor.Doctor.AllChecks().Count, report.Results.Count);
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void Empty_root_like_a_container_warns_without_exceptions()
    {
        using var f = new FixtureRoot();
        var report = f.Run();
        Assert.DoesNotContain(report.Results, r => r.Message.StartsWith("check could not run", StringComparison.Ordinal));
        Assert.Equal(CheckStatus.Skip, report["os.distro"]!.Status);
        Assert.Equal(CheckStatus.Skip, report["kdump.config"]!.Status);
        Assert.Equal(CheckStatus.Warn, report["crashkernel.cmdline"]!.Status);
        Assert.Equal(CheckStatus.Warn, report["crashkernel.reserved"]!.Status);
        Assert.Equal(CheckStatus.Warn, report["sysctl.kernel.sysrq"]!.Status);
        Assert.Equal(CheckStatus.Fail, report["kdump.tooling"]!.Status);
        Assert.Equal("unknown", report.Machine.Arch);
    }

    [Fact]
    public void Visible_sys_without_kexec_files_means_no_crash_support()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Remove("/sys/kernel/kexec_crash_size").Remove("/sys/kernel/kexec_crash_loaded").File("/sys/kernel/uevent_seqnum", "1\n");
        var report = f.Run();
        Assert.Equal(CheckStatus.Fail, report["crashkernel.reserved"]!.Status);
        Assert.Contains("no kexec crash support", report["crashkernel.reserved"]!.Message);
        Assert.Equal(CheckStatus.Fail, report["crashkernel.loaded"]!.Status);
        Assert.Equal(2, report.ExitCode);
    }

    [Fact]
    public void Garbage_numbers_warn()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.File("/proc/sys/kernel/panic_on_oops", "yes please\n").File("/sys/kernel/kexec_crash_size", "lots\n")
            .File("/proc/meminfo", "MemTotal: many kB\n");
        var report = f.Run();
        Assert.Equal(CheckStatus.Warn, report["sysctl.kernel.panic_on_oops"]!.Status);
        Assert.Contains("not a number", report["sysctl.kernel.panic_on_oops"]!.Message);
        Assert.Equal(CheckStatus.Warn, report["crashkernel.reserved"]!.Status);
        Assert.Equal(CheckStatus.Warn, report["crashkernel.size"]!.Status);
    }

    [Fact]
    public void A_throwing_check_becomes_a_warning()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        var report = Kdx.Setup.Doctor.Doctor.Run(Kdx.Setup.Doctor.Doctor.CreateContext(f.Root), [new Throwing()]);
        Assert.Equal(CheckStatus.Warn, report["test.throws"]!.Status);
        Assert.Equal(1, report.ExitCode);
    }

    [Fact]
    public void Symlinks_in_a_fixture_stay_inside_the_root()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Remove("/var/crash").Dir("/srv/dumps").Link("/var/crash", "/srv/dumps").Link("/srv/dumps/up", "../../../../../../etc");
        var fs = new RootedFileSystem(f.Root);
        Assert.Equal("/srv/dumps", fs.Resolve("/var/crash"));
        Assert.Equal("/etc", fs.Resolve("/var/crash/up"));
        Assert.Equal(CheckStatus.Ok, f.Run()["target.location"]!.Status);
        Assert.Contains("/srv/dumps", f.Run()["target.location"]!.Message);
        f.Link("/loop", "/loop");
        Assert.Equal("/loop", fs.Resolve("/loop"));
    }

    [Fact]
    public void Statvfs_probe_sees_a_real_directory()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-statvfs-");
        try
        {
            var fs = new RootedFileSystem(dir.FullName);
            var space = new StatvfsDiskSpaceProbe().Probe(fs, "/");
            Assert.NotNull(space);
            Assert.True(space.TotalBytes > 0 && space.FreeBytes <= space.TotalBytes);
            Assert.True(space.Writable);
            Assert.Null(new StatvfsDiskSpaceProbe().Probe(fs, "/missing"));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private sealed class Throwing : IDoctorCheck
    {
        public string Id => "test.throws";

        public CheckResult Run(DoctorContext context) => throw new InvalidOperationException("boom");
    }
}
