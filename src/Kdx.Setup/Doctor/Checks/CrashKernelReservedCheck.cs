// crashkernel.reserved: the running kernel actually set memory aside (/sys/kernel/kexec_crash_size).
namespace Kdx.Setup.Doctor.Checks;

public sealed class CrashKernelReservedCheck : IDoctorCheck
{
    public string Id => "crashkernel.reserved";

    public CheckResult Run(DoctorContext context)
    {
        if (context.FadumpEnabled)
            return CheckResult.Skip(Id, "fadump is enabled: firmware preserves memory instead of a kexec reservation");
        var reserved = context.ReservedBytes;
        if (reserved is null && context.Fs.ReadLine("/sys/kernel/kexec_crash_size") is { } odd)
            return CheckResult.Warn(Id, $"/sys/kernel/kexec_crash_size holds '{ShellVariables.Clip(odd)}', not a number");
        if (reserved is null)
        {
            var why = context.MissingKexecReason(out bool definite);
            return definite ? CheckResult.Fail(Id, why, NoCrashSupportFix) : CheckResult.Warn(Id, why);
        }
        if (reserved > 0)
            return CheckResult.Ok(Id, $"{SizeText.Human(reserved.Value)} reserved for the crash kernel");
        var requested = context.CrashKernel?.Main;
        if (requested is null)
            return CheckResult.Fail(Id, "no memory reserved for a crash kernel (no crashkernel= at boot; the fix is under crashkernel.cmdline)");
        return CheckResult.Fail(Id, $"{requested} was asked for but nothing is reserved: the kernel found no free region or ignored the value (dmesg | grep -i crashkernel)",
            Recommendations.CrashKernelFix(context, "use a size this kernel can place (try a smaller size or ',high') and reboot"));
    }

    internal static readonly Fix NoCrashSupportFix = new("boot a kernel built with crash dump support (distribution kernels are)",
        new RunCommand("grep -E 'CONFIG_(CRASH_DUMP|KEXEC_CORE)=' /boot/config-$(uname -r)"));
}
