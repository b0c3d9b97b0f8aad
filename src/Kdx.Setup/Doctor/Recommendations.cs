// What the doctor proposes as the fix for the crash kernel and the kdump service, shared by the
// checks that find the same root cause from different sides.
namespace Kdx.Setup.Doctor;

public static class Recommendations
{
    /// <summary>
    /// The crashkernel= value to propose: the distro default table when it covers the estimate at
    /// this RAM size, otherwise the estimate rounded up to 64M.
    /// </summary>
    public static string CrashKernelValue(DoctorContext context)
    {
        long ram = context.SystemRam ?? 0;
        var estimate = CrashKernelSizing.Estimate(context.Machine, ram);
        var table = CrashKernelSizing.DefaultFor(context.Machine.Distro, context.Machine.Arch);
        if (table is not null && table.SizeFor(ram) >= estimate.Bytes)
            return table.Text;
        return SizeText.Kernel(SizeText.RoundUp(estimate.Bytes, 64 * SizeText.MiB));
    }

    public static Fix CrashKernelFix(DoctorContext context, string summary)
    {
        var steps = new List<FixStep> { new SetKernelArgument("crashkernel", CrashKernelValue(context)) };
        if (context.Machine.Distro.Family == DistroFamily.RedHat && context.Machine.Distro.MajorVersion >= 9)
            steps.Add(new RunCommand("kdumpctl reset-crashkernel --kernel=ALL   # alternative: let kdumpctl pick its default"));
        steps.Add(new RunCommand("reboot   # the reservation is made at boot"));
        return new Fix(summary, steps);
    }

    /// <summary>The systemd unit that loads the crash kernel at boot for this tooling.</summary>
    public static string ServiceName(KdumpTooling tooling) => tooling == KdumpTooling.KdumpTools ? "kdump-tools" : "kdump";

    /// <summary>The tooling a root uses: from the config found, else the tool installed, else the distro family.</summary>
    public static KdumpTooling? ToolingOf(DoctorContext context)
    {
        if (context.Config is { } c)
            return c.Tooling;
        if (SystemdUnits.FindTool(context.Fs, "kdumpctl") is not null)
            return KdumpTooling.Kdumpctl;
        if (SystemdUnits.FindTool(context.Fs, "kdump-config") is not null)
            return KdumpTooling.KdumpTools;
        return context.Machine.Distro.Family switch
        {
            DistroFamily.RedHat => KdumpTooling.Kdumpctl,
            DistroFamily.Debian => KdumpTooling.KdumpTools,
            _ => null,
        };
    }

    /// <summary>How to (re)load the crash kernel now with the installed tooling.</summary>
    public static Fix ReloadFix(DoctorContext context, string summary) => ToolingOf(context) switch
    {
        KdumpTooling.Kdumpctl => new Fix(summary, new RunCommand("kdumpctl restart"), new RunCommand("journalctl -u kdump -b   # if it fails, the reason is here")),
        KdumpTooling.KdumpTools => new Fix(summary, new RunCommand("kdump-config load"), new RunCommand("kdump-config show   # shows what was loaded or why not")),
        _ => new Fix(summary, new RunCommand("kexec -p /boot/vmlinuz-$(uname -r) --initrd=/boot/initrd.img-$(uname -r) --append=\"$(cat /proc/cmdline | sed 's/crashkernel=[^ ]*//') irqpoll nr_cpus=1 reset_devices\"")),
    };
}
