// secureboot.kexec: can a crash kernel be loaded at all? Under kernel lockdown (or Secure Boot on
// kernels that lock down with it) only kexec_file_load (kexec -s) works, so a config forcing
// kexec_load (-c) cannot; kernel.kexec_load_disabled=1 blocks both until reboot.
namespace Kdx.Setup.Doctor.Checks;

public sealed class LockdownCheck : IDoctorCheck
{
    public const string LockdownFile = "/sys/kernel/security/lockdown";
    public const string SecureBootVariable = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

    public string Id => "secureboot.kexec";

    /// <summary>The bracketed lockdown mode when it is not "none" ("integrity", "confidentiality"), else null.</summary>
    public static string? ActiveMode(RootedFileSystem fs)
    {
        var line = fs.ReadLine(LockdownFile);
        if (line is null)
            return null;
        int open = line.IndexOf('['), close = line.IndexOf(']');
        if (open < 0 || close <= open)
            return null;
        var mode = line[(open + 1)..close];
        return mode == "none" ? null : mode;
    }

    /// <summary>The EFI SecureBoot variable: 4 attribute bytes, then 1 when enabled; null without EFI variables.</summary>
    public static bool? SecureBoot(RootedFileSystem fs)
    {
        var bytes = fs.ReadPrefix(SecureBootVariable, 8);
        return bytes is { Length: >= 5 } ? bytes[4] == 1 : null;
    }

    public CheckResult Run(DoctorContext context)
    {
        var fs = context.Fs;
        bool loaded = fs.ReadInteger("/sys/kernel/kexec_crash_loaded") == 1;
        // kernel.kexec_load_disabled is one-way until reboot and blocks both syscalls.
        if (fs.ReadInteger("/proc/sys/kernel/kexec_load_disabled") == 1 && !loaded)
            return CheckResult.Fail(Id, "kernel.kexec_load_disabled = 1: no crash kernel can be loaded until the next boot",
                new Fix("load the crash kernel before whatever sets kexec_load_disabled (or stop setting it), then reboot",
                    new RunCommand("grep -rs kexec_load_disabled /etc/sysctl.conf /etc/sysctl.d /usr/lib/sysctl.d /run/sysctl.d"), new RunCommand("reboot")));
        var mode = ActiveMode(fs);
        var secureBoot = SecureBoot(fs);
        bool lockdownKnown = fs.FileExists(LockdownFile);
        string? why = mode is not null ? $"kernel lockdown [{mode}]"
            : !lockdownKnown && secureBoot == true ? "Secure Boot is on (distribution kernels lock down under it)"
            : null;
        if (why is null)
        {
            if (!lockdownKnown && secureBoot is null)
                return CheckResult.Skip(Id, "lockdown state not visible (no securityfs lockdown file, no EFI variables)");
            return CheckResult.Ok(Id, $"no lockdown{(secureBoot == true ? " (Secure Boot on, lockdown none)" : "")}: kexec_load and kexec_file_load both allowed");
        }

        var config = context.Config;
        var fileLoad = config?.UsesFileLoad;
        if (fileLoad == false)
            return CheckResult.Fail(Id, $"{why} refuses kexec_load, but {config!.KexecArgs?.File ?? config.File} forces it ('{config.KexecArgs?.Value}')", FileLoadFix(config));
        if (fileLoad == true)
            return CheckResult.Ok(Id, $"{why}: the config loads with kexec_file_load (-s)");
        if (loaded)
            return CheckResult.Ok(Id, $"{why}: the crash kernel is loaded, so the tooling used kexec_file_load");
        if (config is null)
            return CheckResult.Warn(Id, $"{why}: only kexec_file_load works; load the crash kernel with 'kexec -s -p'");
        return CheckResult.Warn(Id, $"{why}: only kexec_file_load works and the config does not say which syscall kexec uses", FileLoadFix(config));
    }

    private static Fix FileLoadFix(KdumpConfig config)
    {
        bool rhel = config.Tooling == KdumpTooling.Kdumpctl;
        var name = rhel ? "KEXEC_ARGS" : "KDUMP_KEXEC_ARGS";
        var file = rhel ? KdumpConfig.RedHatSysconfigFile : KdumpConfig.DebianFile;
        var words = (config.KexecArgs?.Value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w is not ("-c" or "--kexec-syscall" or "-a" or "--kexec-syscall-auto" or "-s" or "--kexec-file-syscall"))
            .Append("-s");
        return new Fix("make kexec use kexec_file_load", new SetConfigLine(file, $"{name}=\"{string.Join(' ', words)}\"", config.KexecArgs?.Line),
            new RunCommand(DumpTargetCheck.RestartCommand(config)));
    }
}
