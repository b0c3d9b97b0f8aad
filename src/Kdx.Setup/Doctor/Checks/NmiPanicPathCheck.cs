// nmi.panic_path: is there any way an NMI from the BMC or hypervisor (ipmitool chassis power diag,
// virsh inject-nmi) makes a dump of a hung machine? Sysctls, nmimgr and hpwdt each can open one.
namespace Kdx.Setup.Doctor.Checks;

public sealed class NmiPanicPathCheck : IDoctorCheck
{
    public string Id => "nmi.panic_path";

    public CheckResult Run(DoctorContext context)
    {
        var fs = context.Fs;
        if (context.Machine.Arch is not ("x86_64" or "i686" or "unknown"))
            return CheckResult.Skip(Id, $"NMI reason handling is x86-specific ({context.Machine.Arch})");
        var paths = new List<string>();
        bool anySysctl = false;
        foreach (var (key, meaning) in new[]
        {
            ("kernel.unknown_nmi_panic", "unknown NMIs"),
            ("kernel.panic_on_unrecovered_nmi", "unknown and SERR NMIs"),
            ("kernel.panic_on_io_nmi", "IOCHK NMIs"),
        })
        {
            var value = fs.ReadInteger("/proc/sys/" + key.Replace('.', '/'));
            anySysctl |= value is not null;
            if (value is > 0)
                paths.Add($"{key}=1 ({meaning})");
        }
        if (NmimgrParameters.Read(fs) is { EffectivePanic.Count: > 0 } nmimgr)
            paths.Add($"nmimgr (reasons {string.Join(',', nmimgr.EffectivePanic)})");
        if (fs.DirectoryExists("/sys/module/hpwdt"))
            paths.Add("hpwdt (HPE iLO NMIs)");

        if (paths.Count > 0)
            return CheckResult.Ok(Id, "a BMC NMI panics and is dumped via " + string.Join(", ", paths));
        if (!anySysctl)
            return CheckResult.Warn(Id, "cannot read the NMI sysctls (/proc/sys/kernel/*nmi*): path from a BMC NMI to a dump unknown");
        // Panics and oopses are still dumped, so this degrades coverage of hangs rather than readiness.
        return CheckResult.Warn(Id, "no path turns a BMC NMI into a dump: the kernel logs 'Dazed and confused' and a hung machine stays hung",
            new Fix("make unknown NMIs panic (or load nmimgr with this machine's codes: kdx nmi)", new SetSysctl("kernel.unknown_nmi_panic", "1")));
    }
}
