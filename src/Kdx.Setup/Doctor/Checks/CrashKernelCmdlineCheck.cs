// crashkernel.cmdline: the kernel command line asks for crash kernel memory, in a syntax the
// kernel understands and with a size for this machine's RAM.
namespace Kdx.Setup.Doctor.Checks;

public sealed class CrashKernelCmdlineCheck : IDoctorCheck
{
    public string Id => "crashkernel.cmdline";

    public CheckResult Run(DoctorContext context)
    {
        var cmdline = context.Machine.CommandLine;
        var setting = context.CrashKernel;
        if (cmdline is null || setting is null)
            return CheckResult.Warn(Id, "cannot read /proc/cmdline");
        if (context.Machine.IsPowerPc && cmdline.ValuesOf("fadump").Any(v => v == "on"))
            return CheckResult.Ok(Id, "fadump=on: firmware-assisted dump reserves its memory (see crashkernel.size)");
        if (setting.Errors.Count > 0)
            return CheckResult.Fail(Id, $"the kernel rejects {string.Join("; ", setting.Errors)}: nothing is reserved",
                Recommendations.CrashKernelFix(context, "replace the crashkernel= parameter with a valid one"));
        var main = setting.Main;
        if (main is null)
            return CheckResult.Fail(Id, setting.Low is null
                    ? "no crashkernel= on the kernel command line: no memory is reserved for a crash kernel"
                    : $"only {setting.Low} on the command line: the ',low' part needs a main crashkernel= (or ',high')",
                Recommendations.CrashKernelFix(context, "add crashkernel= to the kernel command line"));
        if (main.IsAuto)
        {
            var d = context.Machine.Distro;
            if (d.Family == DistroFamily.RedHat && d.MajorVersion is > 0 and <= 8)
                return CheckResult.Ok(Id, $"{main}: the {d.PrettyName} kernel sizes the reservation from RAM");
            return CheckResult.Fail(Id, $"{main} is only understood by RHEL 8 and older kernels; this kernel reserves nothing for it",
                Recommendations.CrashKernelFix(context, "replace crashkernel=auto with an explicit size"));
        }
        if (context.SystemRam is not { } ram)
            return CheckResult.Ok(Id, $"{main} (RAM unknown: no /proc/meminfo to resolve it)");
        long size = main.SizeFor(ram) ?? 0;
        var low = setting.Low is null ? "" : $" plus {setting.Low}";
        if (size == 0)
            return CheckResult.Fail(Id, $"{main} has no range covering {SizeText.Human(ram)} of RAM: nothing is reserved",
                Recommendations.CrashKernelFix(context, "use a crashkernel= that covers this machine's RAM"));
        var resolved = main.Ranges.Count > 0 ? $" → {SizeText.Kernel(size)} for {SizeText.Human(ram)} of RAM" : "";
        return CheckResult.Ok(Id, $"{main}{resolved}{low}");
    }
}
