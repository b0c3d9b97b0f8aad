// crashkernel.loaded: a crash kernel sits in the reservation now (/sys/kernel/kexec_crash_loaded),
// or, with fadump on ppc64, firmware-assisted dump is registered.
namespace Kdx.Setup.Doctor.Checks;

public sealed class CrashKernelLoadedCheck : IDoctorCheck
{
    public string Id => "crashkernel.loaded";

    public CheckResult Run(DoctorContext context)
    {
        var fs = context.Fs;
        if (context.FadumpEnabled)
        {
            var registered = fs.ReadInteger("/sys/kernel/fadump/registered") ?? fs.ReadInteger("/sys/kernel/fadump_registered");
            return registered == 1
                ? CheckResult.Ok(Id, "fadump is registered with firmware")
                : CheckResult.Fail(Id, "fadump is enabled but not registered: a crash will not be captured",
                    Recommendations.ReloadFix(context, "register fadump by restarting the kdump service"));
        }
        var loaded = fs.ReadInteger("/sys/kernel/kexec_crash_loaded");
        if (loaded is null && fs.ReadLine("/sys/kernel/kexec_crash_loaded") is { } odd)
            return CheckResult.Warn(Id, $"/sys/kernel/kexec_crash_loaded holds '{ShellVariables.Clip(odd)}', not a number");
        if (loaded is null)
        {
            var why = context.MissingKexecReason(out bool definite);
            return definite ? CheckResult.Fail(Id, why + " (fix under crashkernel.reserved)") : CheckResult.Warn(Id, why);
        }
        if (loaded == 1)
            return CheckResult.Ok(Id, "a crash kernel is loaded");
        if (context.ReservedBytes is 0)
            return CheckResult.Fail(Id, "no crash kernel loaded, and no memory reserved for one (see crashkernel.reserved); the kdump service loads it once memory is reserved");
        var lockdown = LockdownCheck.ActiveMode(fs);
        var hint = lockdown is not null && context.Config?.UsesFileLoad == false
            ? $"; lockdown ({lockdown}) refuses kexec_load, see secureboot.kexec"
            : "";
        return CheckResult.Fail(Id, $"memory is reserved but no crash kernel is loaded{hint}",
            Recommendations.ReloadFix(context, "load the crash kernel"));
    }
}
