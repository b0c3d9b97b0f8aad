// Builds small machine roots (/proc, /sys, /etc, /boot, /var/crash) in a temp directory for the
// doctor's tests: a ready RHEL 9, Debian 12 or Ubuntu 24.04 layout, then edits that break it.
using System.Globalization;
using Kdx.Setup.Doctor;

namespace Kdx.Setup.Tests.Doctor;

public enum Layout
{
    Rhel9,
    Debian12,
    Ubuntu2404,
}

public sealed class FixtureRoot : IDisposable
{
    public const long RamKiB = 16L * 1024 * 1024; // 16 GiB

    public FixtureRoot()
    {
        Root = Directory.CreateTempSubdirectory("kdx-doctor-").FullName;
    }

    public string Root { get; }

    public Layout? Layout { get; private set; }

    public string Path(string machinePath) => System.IO.Path.Combine(Root, machinePath.TrimStart('/'));

    public FixtureRoot File(string machinePath, string content)
    {
        var p = Path(machinePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllText(p, content);
        return this;
    }

    public FixtureRoot Bytes(string machinePath, byte[] content)
    {
        var p = Path(machinePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllBytes(p, content);
        return this;
    }

    /// <summary>A sparse file of the given size (kernel and initrd images are only measured).</summary>
    public FixtureRoot SizedFile(string machinePath, long size)
    {
        var p = Path(machinePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        using var f = new FileStream(p, FileMode.Create);
        f.SetLength(size);
        return this;
    }

    public FixtureRoot Dir(string machinePath)
    {
        Directory.CreateDirectory(Path(machinePath));
        return this;
    }

    public FixtureRoot Link(string machinePath, string target)
    {
        var p = Path(machinePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.CreateSymbolicLink(p, target);
        return this;
    }

    public FixtureRoot Remove(string machinePath)
    {
        var p = Path(machinePath);
        if (Directory.Exists(p) && new DirectoryInfo(p).LinkTarget is null)
            Directory.Delete(p, recursive: true);
        else
            System.IO.File.Delete(p);
        return this;
    }

    public FixtureRoot Sysctl(string key, long value) =>
        File("/proc/sys/" + key.Replace('.', '/'), value.ToString(CultureInfo.InvariantCulture) + "\n");

    public FixtureRoot Cmdline(string text) => File("/proc/cmdline", text + "\n");

    public FixtureRoot Reserved(long bytes) => File("/sys/kernel/kexec_crash_size", bytes.ToString(CultureInfo.InvariantCulture) + "\n");

    public FixtureRoot Loaded(bool loaded) => File("/sys/kernel/kexec_crash_loaded", loaded ? "1\n" : "0\n");

    public FixtureRoot DiskSpace(string table) => File(FixtureDiskSpaceProbe.TablePath, table);

    /// <summary>The kdump configuration file of the layout (kdump.conf or kdump-tools).</summary>
    public string ConfigFile => Layout == Doctor.Layout.Rhel9 ? KdumpConfig.RedHatFile : KdumpConfig.DebianFile;

    public DoctorReport Run(string? arch = null, IDumpProbe? probe = null) =>
        Kdx.Setup.Doctor.Doctor.Run(Kdx.Setup.Doctor.Doctor.CreateContext(Root, arch, probe));

    public static FixtureRoot Ready(Layout layout)
    {
        var f = new FixtureRoot { Layout = layout };
        f.Common();
        switch (layout)
        {
            case Doctor.Layout.Rhel9: f.Rhel(); break;
            case Doctor.Layout.Debian12: f.Debian(ubuntu: false); break;
            default: f.Debian(ubuntu: true); break;
        }
        return f;
    }

    private void Common()
    {
        File("/proc/meminfo", string.Join('\n',
            $"MemTotal:       {RamKiB} kB", "MemFree:         8388608 kB", "MemAvailable:   12582912 kB", "Buffers:          262144 kB",
            "Cached:          4194304 kB", "Shmem:            131072 kB", "AnonPages:       2097152 kB", "Slab:             524288 kB",
            "KernelStack:       32768 kB", "PageTables:        65536 kB", "Percpu:            16384 kB", "HugePages_Total:       0",
            "HugePages_Free:        0", "Hugepagesize:       2048 kB") + "\n");
        File("/sys/devices/system/cpu/online", "0-7\n");
        File("/proc/sys/kernel/arch", "x86_64\n");
        File("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
        Sysctl("kernel.sysrq", 1).Sysctl("kernel.panic", 10).Sysctl("kernel.panic_on_oops", 1).Sysctl("kernel.panic_on_warn", 0).Sysctl("kernel.softlockup_panic", 0)
            .Sysctl("kernel.hardlockup_panic", 0).Sysctl("kernel.hung_task_panic", 0).Sysctl("vm.panic_on_oom", 0)
            .Sysctl("kernel.unknown_nmi_panic", 1).Sysctl("kernel.panic_on_unrecovered_nmi", 0).Sysctl("kernel.panic_on_io_nmi", 0)
            .Sysctl("kernel.nmi_watchdog", 1);
        Loaded(true);
        Dir("/var/crash");
        DiskSpace("/ free=100G total=200G\n");
        File("/proc/mounts", "/dev/sda2 / ext4 rw,relatime 0 0\n/dev/sdb1 /data xfs rw,relatime 0 0\n");
    }

    private void Rhel()
    {
        const string release = "5.14.0-427.13.1.el9_4.x86_64";
        File("/etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n");
        File("/proc/sys/kernel/osrelease", release + "\n");
        Cmdline($"BOOT_IMAGE=(hd0,gpt2)/vmlinuz-{release} root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rhgb quiet");
        Reserved(256 * SizeText.MiB);
        SizedFile($"/boot/vmlinuz-{release}", 12 * SizeText.MiB);
        SizedFile($"/boot/initramfs-{release}kdump.img", 25 * SizeText.MiB);
        File("/usr/bin/kdumpctl", "#!/bin/bash\n");
        File("/usr/sbin/makedumpfile", "");
        File("/usr/sbin/kexec", "");
        Link("/etc/systemd/system/multi-user.target.wants/kdump.service", "/usr/lib/systemd/system/kdump.service");
        File(KdumpConfig.RedHatFile, "# kdump.conf as shipped, trimmed\r\npath /var/crash\r\ncore_collector makedumpfile -l --message-level 7 -d 31\r\n#failure_action shell\r\n");
        File(KdumpConfig.RedHatSysconfigFile, "KDUMP_COMMANDLINE=\"\"\nKEXEC_ARGS=\"-s\"\n");
        File("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rhgb quiet\"\n");
    }

    private void Debian(bool ubuntu)
    {
        var release = ubuntu ? "6.8.0-31-generic" : "6.1.0-21-amd64";
        File("/etc/os-release", ubuntu
            ? "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\n"
            : "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n");
        File("/proc/sys/kernel/osrelease", release + "\n");
        var crashkernel = ubuntu ? "2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M" : "512M-:192M";
        Cmdline($"BOOT_IMAGE=/boot/vmlinuz-{release} root=UUID=0b6c1f0e-8a9e-4d49-9f0c-1d7f3d0b9a11 ro quiet crashkernel={crashkernel}");
        Reserved((ubuntu ? 512 : 192) * SizeText.MiB);
        SizedFile($"/boot/vmlinuz-{release}", 8 * SizeText.MiB);
        SizedFile($"/var/lib/kdump/initrd.img-{release}", 20 * SizeText.MiB);
        File("/usr/sbin/kdump-config", "#!/bin/sh\n");
        File("/usr/bin/makedumpfile", "");
        File("/sbin/kexec", "");
        Link("/etc/systemd/system/multi-user.target.wants/kdump-tools.service", "/lib/systemd/system/kdump-tools.service");
        File(KdumpConfig.DebianFile, "# kdump-tools configuration\nUSE_KDUMP=1\n#KDUMP_SYSCTL=\"kernel.panic_on_oops=1\"\nKDUMP_COREDIR=\"/var/crash\"\nMAKEDUMP_ARGS=\"-c -d 31\"\n");
        if (ubuntu)
            File(BootConfig.KdumpToolsSnippet, $"GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT crashkernel={crashkernel}\"\n");
        File("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
