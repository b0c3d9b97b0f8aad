// The doctor over whole fixture machines: each layout ready, then broken one way at a time,
// must give the right check verdicts, exit code and fix.
using Kdx.Setup.Doctor;

namespace Kdx.Setup.Tests.Doctor;

public sealed class ScenarioTests
{
    public static TheoryData<Layout> Layouts => new() { Layout.Rhel9, Layout.Debian12, Layout.Ubuntu2404 };

    private static string Describe(DoctorReport r) =>
        string.Join("\n", r.Results.Select(x => $"{x.Status} {x.Id}: {x.Message}"));

    private static IEnumerable<string> FixText(CheckResult r, DoctorReport report) =>
        r.Fix is null ? [] : FixRenderer.Render(r.Fix, report.Machine).Select(l => l.ToString());

    [Theory, MemberData(nameof(Layouts))]
    public void Ready_machine_is_ready(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        var report = f.Run();
        Assert.True(report.ExitCode == 0, Describe(report));
        Assert.All(report.Results, r => Assert.Contains(r.Status, new[] { CheckStatus.Ok, CheckStatus.Skip }));
        Assert.Equal(CheckStatus.Ok, report["crashkernel.size"]!.Status);
        Assert.Equal(CheckStatus.Ok, report["target.space"]!.Status);
        Assert.Equal(CheckStatus.Ok, report["nmi.panic_path"]!.Status);
        Assert.Equal(layout == Layout.Rhel9 ? DistroFamily.RedHat : DistroFamily.Debian, report.Machine.Distro.Family);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void No_crashkernel_fails_with_a_boot_config_fix(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Cmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda2 ro quiet").Reserved(0).Loaded(false);
        var report = f.Run();
        Assert.Equal(2, report.ExitCode);
        var cmdline = report["crashkernel.cmdline"]!;
        Assert.Equal(CheckStatus.Fail, cmdline.Status);
        Assert.Contains("no crashkernel=", cmdline.Message);
        Assert.Equal(CheckStatus.Fail, report["crashkernel.reserved"]!.Status);
        Assert.Equal(CheckStatus.Fail, report["crashkernel.loaded"]!.Status);
        var fix = FixText(cmdline, report).ToList();
        if (layout == Layout.Rhel9)
        {
            Assert.Contains(fix, l => l.StartsWith("$ grubby --update-kernel=ALL --args=\"crashkernel=", StringComparison.Ordinal));
            Assert.Contains(fix, l => l.StartsWith("/etc/default/grub:2: GRUB_CMDLINE_LINUX=\"", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains("$ update-grub", fix);
            var grubFile = layout == Layout.Ubuntu2404 ? BootConfig.KdumpToolsSnippet : "/etc/default/grub";
            Assert.Contains(fix, l => l.StartsWith(grubFile + ":", StringComparison.Ordinal) && l.Contains("GRUB_CMDLINE_LINUX_DEFAULT=", StringComparison.Ordinal));
        }
        // The distro default table is proposed when it covers the estimate.
        var expected = layout switch
        {
            Layout.Rhel9 => "crashkernel=2G-64G:256M,64G-:512M",
            Layout.Debian12 => "crashkernel=512M-:192M",
            _ => "crashkernel=2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M",
        };
        Assert.Contains(fix, l => l.Contains(expected, StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Reserved_but_not_loaded_fails_with_reload_fix(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Loaded(false);
        var report = f.Run();
        Assert.Equal(2, report.ExitCode);
        var loaded = report["crashkernel.loaded"]!;
        Assert.Equal(CheckStatus.Fail, loaded.Status);
        Assert.Contains("reserved but no crash kernel is loaded", loaded.Message);
        Assert.Contains(layout == Layout.Rhel9 ? "$ kdumpctl restart" : "$ kdump-config load", FixText(loaded, report));
        Assert.Equal(CheckStatus.Ok, report["crashkernel.reserved"]!.Status);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Too_small_reservation_fails(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Cmdline("root=/dev/sda2 ro crashkernel=128M").Reserved(128 * SizeText.MiB);
        var report = f.Run();
        var size = report["crashkernel.size"]!;
        Assert.Equal(CheckStatus.Fail, size.Status);
        Assert.Contains("128 MiB reserved", size.Message);
        Assert.Contains(FixText(size, report), l => l.Contains("crashkernel=", StringComparison.Ordinal));
        Assert.Equal(2, report.ExitCode);
    }

    [Fact]
    public void Reservation_between_estimate_and_distro_default_warns()
    {
        using var f = FixtureRoot.Ready(Layout.Ubuntu2404);
        f.Cmdline("root=/dev/sda2 ro crashkernel=256M").Reserved(256 * SizeText.MiB);
        var report = f.Run();
        Assert.Equal(CheckStatus.Warn, report["crashkernel.size"]!.Status);
        Assert.Equal(1, report.ExitCode);
    }

    [Fact]
    public void Big_kdump_initrd_over_the_distro_default_only_warns()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.SizedFile("/var/lib/kdump/initrd.img-6.1.0-21-amd64", 40 * SizeText.MiB); // 120M unpacked: over 192M in all
        var size = f.Run()["crashkernel.size"]!;
        Assert.Equal(CheckStatus.Warn, size.Status);
        Assert.Contains("default 192M is met", size.Message);
        Assert.Contains("kdump initrd 120 MiB", size.Message);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Missing_target_fails_with_mkdir(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Remove("/var/crash");
        var report = f.Run();
        var target = report["target.location"]!;
        Assert.Equal(CheckStatus.Fail, target.Status);
        Assert.Contains("$ mkdir -p /var/crash", FixText(target, report));
        Assert.Equal(CheckStatus.Skip, report["target.space"]!.Status);
        Assert.Equal(2, report.ExitCode);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Unwritable_or_readonly_target_fails(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.DiskSpace("/ free=100G notwritable\n");
        Assert.Contains("not writable", f.Run()["target.location"]!.Message);
        f.DiskSpace("/ free=100G\n/var/crash free=100G ro\n");
        var report = f.Run();
        Assert.Equal(CheckStatus.Fail, report["target.location"]!.Status);
        Assert.Contains("read-only", report["target.location"]!.Message);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Too_little_space_fails_and_little_headroom_warns(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.DiskSpace("/ free=100M\n");
        var report = f.Run();
        var space = report["target.space"]!;
        Assert.Equal(CheckStatus.Fail, space.Status);
        Assert.Contains("100 MiB free", space.Message);
        Assert.Equal(2, report.ExitCode);

        // Between one and two estimated dumps of room: a warning.
        var mem = report.Machine.MemInfo!;
        var estimate = DumpSizeEstimate.For(mem, Kdx.Setup.Doctor.KdumpConfig.Load(new RootedFileSystem(f.Root), report.Machine.Distro.Family)!.Collector);
        f.DiskSpace($"/ free={estimate.FileBytes * 3 / 2}\n");
        Assert.Equal(CheckStatus.Warn, f.Run()["target.space"]!.Status);
        f.DiskSpace($"/ free={estimate.FileBytes * 2}\n");
        Assert.Equal(CheckStatus.Ok, f.Run()["target.space"]!.Status);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Lower_dump_level_needs_more_space(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.DiskSpace("/ free=4G\n");
        Assert.Equal(CheckStatus.Ok, f.Run()["target.space"]!.Status);
        if (layout == Layout.Rhel9)
            f.File(KdumpConfig.RedHatFile, "path /var/crash\ncore_collector makedumpfile -l -d 1\n");
        else
            f.File(KdumpConfig.DebianFile, "USE_KDUMP=1\nMAKEDUMP_ARGS=\"-c -d 1\"\n");
        var report = f.Run();
        var space = report["target.space"]!;
        Assert.Equal(CheckStatus.Fail, space.Status);
        Assert.Contains("dump level 1", space.Message);
        var fix = FixText(space, report).ToList();
        Assert.Contains(fix, l => l.Contains("-d 31", StringComparison.Ordinal) && l.StartsWith(f.ConfigFile + ":2:", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Sysrq_zero_warns_only(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Sysctl("kernel.sysrq", 0);
        var report = f.Run();
        var sysrq = report["sysctl.kernel.sysrq"]!;
        Assert.Equal(CheckStatus.Warn, sysrq.Status);
        Assert.Equal(1, report.ExitCode);
        Assert.Contains("/etc/sysctl.d/90-kdx-kdump.conf: kernel.sysrq = 1", FixText(sysrq, report));
    }

    [Fact]
    public void Sysrq_bitmask_with_dump_bit_is_ok_and_without_it_warns()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Sysctl("kernel.sysrq", 176); // 128 + 32 + 16: reboot, remount, sync
        var warn = f.Run()["sysctl.kernel.sysrq"]!;
        Assert.Equal(CheckStatus.Warn, warn.Status);
        Assert.Equal("184", Assert.IsType<SetSysctl>(warn.Fix!.Steps[0]).Value);
        f.Sysctl("kernel.sysrq", 184);
        Assert.Equal(CheckStatus.Ok, f.Run()["sysctl.kernel.sysrq"]!.Status);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void No_nmi_path_warns(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Sysctl("kernel.unknown_nmi_panic", 0);
        var report = f.Run();
        var nmi = report["nmi.panic_path"]!;
        Assert.Equal(CheckStatus.Warn, nmi.Status);
        Assert.Contains("kernel.unknown_nmi_panic = 1", string.Join("\n", FixText(nmi, report)));
        Assert.Equal(1, report.ExitCode);
        f.Sysctl("kernel.panic_on_io_nmi", 1);
        Assert.Contains("IOCHK", f.Run()["nmi.panic_path"]!.Message);
    }

    [Fact]
    public void Sysctl_missing_from_a_visible_proc_sys_is_skipped()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Remove("/proc/sys/kernel/hardlockup_panic");
        var report = f.Run();
        Assert.Equal(CheckStatus.Skip, report["sysctl.kernel.hardlockup_panic"]!.Status);
        Assert.Equal(0, report.ExitCode);
        f.Remove("/proc/sys/kernel/sysrq");
        Assert.Equal(CheckStatus.Warn, f.Run()["sysctl.kernel.sysrq"]!.Status);
    }

    [Fact]
    public void Nmimgr_with_panic_codes_is_a_path_and_zero_or_shadowed_codes_are_not()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Sysctl("kernel.unknown_nmi_panic", 0)
            .File("/sys/module/nmimgr/parameters/events_panic", "0,32,48\n")
            .File("/sys/module/nmimgr/parameters/events_drop", "48\n")
            .File("/sys/module/nmimgr/parameters/events_ignore", "(null)\n")
            .File("/sys/module/nmimgr/parameters/events_debug", "(null)\n");
        var report = f.Run();
        Assert.Equal(CheckStatus.Ok, report["nmi.panic_path"]!.Status);
        Assert.Contains("nmimgr (reasons 32)", report["nmi.panic_path"]!.Message);
        var nmimgr = report["nmi.nmimgr"]!;
        Assert.Equal(CheckStatus.Ok, nmimgr.Status);
        Assert.Contains("codes 0,48 can never panic", nmimgr.Message);

        f.File("/sys/module/nmimgr/parameters/events_panic", "0,48\n");
        report = f.Run();
        Assert.Equal(CheckStatus.Warn, report["nmi.nmimgr"]!.Status);
        Assert.Equal(CheckStatus.Warn, report["nmi.panic_path"]!.Status);
    }

    [Fact]
    public void Hpwdt_is_a_path()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Sysctl("kernel.unknown_nmi_panic", 0).Dir("/sys/module/hpwdt");
        Assert.Contains("hpwdt", f.Run()["nmi.panic_path"]!.Message);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Lockdown_with_kexec_load_config_fails(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.File("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n").Loaded(false);
        if (layout == Layout.Rhel9)
            f.File(KdumpConfig.RedHatSysconfigFile, "KDUMP_COMMANDLINE=\"\"\nKEXEC_ARGS=\"-c --dt_no_old_root\"\n");
        else
            f.File(KdumpConfig.DebianFile, "USE_KDUMP=1\nKDUMP_KEXEC_ARGS=\"-c\"\n");
        var report = f.Run();
        var lockdown = report["secureboot.kexec"]!;
        Assert.Equal(CheckStatus.Fail, lockdown.Status);
        Assert.Contains("[integrity]", lockdown.Message);
        var fix = FixText(lockdown, report).ToList();
        Assert.Contains(layout == Layout.Rhel9 ? "/etc/sysconfig/kdump:2: KEXEC_ARGS=\"--dt_no_old_root -s\"" : "/etc/default/kdump-tools:2: KDUMP_KEXEC_ARGS=\"-s\"", fix);
        Assert.Contains("see secureboot.kexec", report["crashkernel.loaded"]!.Message);
    }

    [Fact]
    public void Secure_boot_without_lockdown_file_and_no_syscall_choice_warns_unless_loaded()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Remove("/sys/kernel/security/lockdown")
            .Bytes(Kdx.Setup.Doctor.Checks.LockdownCheck.SecureBootVariable, [6, 0, 0, 0, 1]);
        Assert.Equal(CheckStatus.Ok, f.Run()["secureboot.kexec"]!.Status); // loaded: it must have used kexec_file_load
        f.Loaded(false);
        Assert.Equal(CheckStatus.Warn, f.Run()["secureboot.kexec"]!.Status);
        f.Bytes(Kdx.Setup.Doctor.Checks.LockdownCheck.SecureBootVariable, [6, 0, 0, 0, 0]);
        Assert.Equal(CheckStatus.Ok, f.Run()["secureboot.kexec"]!.Status);
    }

    [Fact]
    public void Kexec_load_disabled_fails_only_when_nothing_is_loaded()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Sysctl("kernel.kexec_load_disabled", 1);
        Assert.Equal(CheckStatus.Ok, f.Run()["secureboot.kexec"]!.Status);
        f.Loaded(false);
        var r = f.Run()["secureboot.kexec"]!;
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("until the next boot", r.Message);
    }

    [Theory, MemberData(nameof(Layouts))]
    public void Missing_makedumpfile_fails(Layout layout)
    {
        using var f = FixtureRoot.Ready(layout);
        f.Remove(layout == Layout.Rhel9 ? "/usr/sbin/makedumpfile" : "/usr/bin/makedumpfile");
        var r = f.Run()["kdump.config"]!;
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("makedumpfile is not installed", r.Message);
    }

    [Fact]
    public void Unknown_directives_warn_and_name_the_line()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.File(KdumpConfig.RedHatFile, "path /var/crash\r\nfrobnicate yes\r\ncore_collector makedumpfile -l -d 31\r\nfailure_action explode\r\n");
        var report = f.Run();
        var config = report["kdump.config"]!;
        Assert.Equal(CheckStatus.Warn, config.Status);
        Assert.Contains("line 2: unknown directive 'frobnicate'", config.Message);
        Assert.Contains("line 4: failure_action 'explode'", config.Message);
        Assert.Equal(["/etc/kdump.conf:2: #frobnicate yes", "/etc/kdump.conf:4: #failure_action explode", "$ kdumpctl restart"], FixText(config, report));
        Assert.Equal(1, report.ExitCode);
    }

    [Fact]
    public void Disabled_or_masked_service_fails()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Remove("/etc/systemd/system/multi-user.target.wants/kdump.service");
        var report = f.Run();
        Assert.Equal(CheckStatus.Fail, report["kdump.tooling"]!.Status);
        Assert.Contains("$ systemctl enable --now kdump", FixText(report["kdump.tooling"]!, report));
        f.Link("/etc/systemd/system/kdump.service", "/dev/null");
        Assert.Contains("masked", f.Run()["kdump.tooling"]!.Message);
    }

    [Fact]
    public void Debian_use_kdump_zero_fails_naming_the_line()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.File(KdumpConfig.DebianFile, "# comment\nUSE_KDUMP=0\n");
        var report = f.Run();
        var tooling = report["kdump.tooling"]!;
        Assert.Equal(CheckStatus.Fail, tooling.Status);
        Assert.Contains("/etc/default/kdump-tools:2: USE_KDUMP=1", FixText(tooling, report));
    }

    [Fact]
    public void Crashkernel_auto_is_fine_on_rhel8_but_not_on_rhel9()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Cmdline("ro crashkernel=auto");
        Assert.Equal(CheckStatus.Fail, f.Run()["crashkernel.cmdline"]!.Status);
        f.File("/etc/os-release", "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.9\"\n");
        Assert.Equal(CheckStatus.Ok, f.Run()["crashkernel.cmdline"]!.Status);
    }

    [Fact]
    public void Range_without_match_for_this_ram_fails()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Cmdline("ro crashkernel=64G-:512M").Reserved(0);
        var r = f.Run()["crashkernel.cmdline"]!;
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("no range covering 16 GiB", r.Message);
    }

    [Fact]
    public void Filesystem_target_by_uuid_uses_its_mount_point()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.File(KdumpConfig.RedHatFile, "xfs UUID=5d1a2f9e-0000-4000-8000-000000000001\npath /crash\n")
            .Link("/dev/disk/by-uuid/5d1a2f9e-0000-4000-8000-000000000001", "../../sdb1")
            .File("/dev/sdb1", "")
            .Dir("/data/crash")
            .DiskSpace("/ free=100G\n/data free=1G\n");
        var report = f.Run();
        Assert.Equal(CheckStatus.Ok, report["target.location"]!.Status);
        Assert.Contains("/data/crash", report["target.location"]!.Message);
        Assert.Contains("1 GiB free in /data/crash", report["target.space"]!.Message);

        f.File(KdumpConfig.RedHatFile, "ext4 LABEL=nosuch\npath /crash\n");
        Assert.Equal(CheckStatus.Fail, f.Run()["target.location"]!.Status);
    }

    [Fact]
    public void Remote_targets_are_not_judged_for_space()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.File(KdumpConfig.DebianFile, "USE_KDUMP=1\nSSH=\"kdump@dumphost\"\nKDUMP_COREDIR=\"/srv/crash\"\n");
        var report = f.Run();
        Assert.Contains("ssh kdump@dumphost:/srv/crash", report["target.location"]!.Message);
        Assert.Equal(CheckStatus.Skip, report["target.space"]!.Status);
        Assert.True(report.ExitCode == 0, Describe(report));
    }

    [Fact]
    public void Rhel_ssh_without_flattened_collector_warns()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.File(KdumpConfig.RedHatFile, "ssh kdump@dumphost\npath /srv/crash\ncore_collector makedumpfile -l -d 31\n");
        var report = f.Run();
        var config = report["kdump.config"]!;
        Assert.Equal(CheckStatus.Warn, config.Status);
        Assert.Contains("/etc/kdump.conf:3: core_collector makedumpfile -F -l -d 31", FixText(config, report));
    }

    [Fact]
    public void Fadump_on_ppc64_uses_its_table()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.File("/proc/sys/kernel/arch", "ppc64le\n").File("/sys/kernel/fadump/enabled", "1\n").File("/sys/kernel/fadump/registered", "1\n")
            .Cmdline("ro fadump=on crashkernel=512M").Reserved(0);
        var report = f.Run();
        Assert.Equal("ppc64le", report.Machine.Arch);
        Assert.Equal(CheckStatus.Skip, report["crashkernel.reserved"]!.Status);
        Assert.Equal(CheckStatus.Ok, report["crashkernel.loaded"]!.Status);
        var size = report["crashkernel.size"]!;
        Assert.Equal(CheckStatus.Fail, size.Status); // 16 GiB wants 1G
        Assert.Contains("wants 1G", size.Message);
        Assert.Equal(CheckStatus.Skip, report["nmi.panic_path"]!.Status);
    }

    [Fact]
    public void Explicit_arch_wins_over_the_root()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Remove("/proc/sys/kernel/arch");
        Assert.Equal("unknown", f.Run().Machine.Arch);
        Assert.Equal("aarch64", f.Run(arch: "arm64").Machine.Arch);
        Assert.Equal(CheckStatus.Skip, f.Run(arch: "arm64")["sysctl.kernel.unknown_nmi_panic"]!.Status);
    }
    [Fact]
    public void Sysv_rc_links_count_as_enabled()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Remove("/etc/systemd/system/multi-user.target.wants/kdump-tools.service").Link("/etc/rc2.d/S01kdump-tools", "../init.d/kdump-tools");
        Assert.Equal(CheckStatus.Ok, f.Run()["kdump.tooling"]!.Status);
    }

    [Fact]
    public void Plain_kexec_setup_on_an_unknown_distro()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.File("/etc/os-release", "ID=arch\nPRETTY_NAME=\"Arch Linux\"\n").Remove("/usr/bin/kdumpctl").Remove(KdumpConfig.RedHatFile)
            .Remove("/etc/systemd/system/multi-user.target.wants/kdump.service");
        var report = f.Run();
        Assert.Equal(CheckStatus.Ok, report["os.distro"]!.Status);
        Assert.Equal(CheckStatus.Ok, report["kdump.tooling"]!.Status);
        Assert.Equal(CheckStatus.Skip, report["kdump.config"]!.Status);
        Assert.Contains("plain kexec setup", report["kdump.tooling"]!.Message);
        f.Loaded(false);
        report = f.Run();
        var tooling = report["kdump.tooling"]!;
        Assert.Equal(CheckStatus.Fail, tooling.Status);
        Assert.Contains(FixText(tooling, report), l => l.StartsWith("$ kexec -p ", StringComparison.Ordinal));
        // Unknown family: boot fixes are shown for both tool sets.
        f.Cmdline("ro").Reserved(0);
        report = f.Run();
        var fix = FixText(report["crashkernel.cmdline"]!, report).ToList();
        Assert.Contains(fix, l => l.StartsWith("$ grubby", StringComparison.Ordinal));
        Assert.Contains("$ update-grub", fix);
    }

    [Fact]
    public void Crash_kernel_estimate_follows_the_documented_formula()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        var machine = new Machine(new RootedFileSystem(f.Root));
        var e = CrashKernelSizing.Estimate(machine, FixtureRoot.RamKiB * 1024);
        Assert.Equal(4 * 12 * SizeText.MiB, e.KernelBytes);
        Assert.Equal(3 * 25 * SizeText.MiB, e.InitrdBytes);
        Assert.Equal(64 * SizeText.MiB + 16 * SizeText.MiB + 8 * 64 * 1024, e.RuntimeBytes);
        Assert.Equal(208 * SizeText.MiB, e.Bytes);
        Assert.EndsWith("kdump.img", e.InitrdFile);

        // Debian's unversioned symlinks into /boot are followed inside the root.
        using var d = FixtureRoot.Ready(Layout.Debian12);
        d.Remove("/var/lib/kdump/initrd.img-6.1.0-21-amd64").SizedFile("/boot/initrd.img-kdump-6.1.0-21-amd64", 10 * SizeText.MiB)
            .Link("/var/lib/kdump/initrd.img", "/boot/initrd.img-kdump-6.1.0-21-amd64");
        var de = CrashKernelSizing.Estimate(new Machine(new RootedFileSystem(d.Root)), FixtureRoot.RamKiB * 1024);
        Assert.Equal(30 * SizeText.MiB, de.InitrdBytes);
        Assert.Equal("/var/lib/kdump/initrd.img", de.InitrdFile);
    }

    /// <summary>The crash lab's guest: one initramfs, no os-release, no kdump tooling, kexec -p run by /init.</summary>
    [Fact]
    public void Lab_style_initramfs_guest_with_a_loaded_crash_kernel_is_ready()
    {
        using var f = new FixtureRoot();
        f.Cmdline("console=ttyS0 crashkernel=256M").Reserved(256 * SizeText.MiB).Loaded(true)
            .File("/proc/meminfo", "MemTotal: 1004000 kB\nMemFree: 800000 kB\n")
            .File("/proc/sys/kernel/osrelease", "6.1.0-21-amd64\n")
            .Sysctl("kernel.sysrq", 1).Sysctl("kernel.panic", 0).Sysctl("kernel.panic_on_oops", 1).Sysctl("kernel.unknown_nmi_panic", 1).Sysctl("vm.panic_on_oom", 0);
        var report = f.Run(arch: "x86_64");
        Assert.True(report.ExitCode == 0, string.Join("\n", report.Results.Select(x => $"{x.Status} {x.Id}: {x.Message}")));
        Assert.Equal(CheckStatus.Ok, report["kdump.tooling"]!.Status);
        Assert.Equal(CheckStatus.Ok, report["crashkernel.size"]!.Status);

        // Debian's kernel defaults (sysrq 438, panic_on_oops 0, no NMI panic) leave it ready with warnings.
        f.Sysctl("kernel.sysrq", 438).Sysctl("kernel.panic_on_oops", 0).Sysctl("kernel.unknown_nmi_panic", 0);
        report = f.Run(arch: "x86_64");
        Assert.Equal(1, report.ExitCode);
        Assert.Equal(3, report.Results.Count(r => r.Status == CheckStatus.Warn));
    }
}
