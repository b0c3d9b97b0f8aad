// kdump.tooling: the tooling that loads the crash kernel at every boot is installed and enabled
// (RHEL kdumpctl + kdump.service, Debian kdump-tools with USE_KDUMP=1, or a plain kexec setup).
namespace Kdx.Setup.Doctor.Checks;

public sealed class KdumpToolingCheck : IDoctorCheck
{
    public string Id => "kdump.tooling";

    public CheckResult Run(DoctorContext context) => Recommendations.ToolingOf(context) switch
    {
        KdumpTooling.Kdumpctl => CheckService(context, "kdumpctl", "kexec-tools", "dnf install -y kexec-tools", "kdump.service"),
        KdumpTooling.KdumpTools => CheckDebian(context),
        _ => CheckPlainKexec(context),
    };

    private CheckResult CheckDebian(DoctorContext context)
    {
        var service = CheckService(context, "kdump-config", "kdump-tools", "apt-get install -y kdump-tools", "kdump-tools.service");
        if (service.Status != CheckStatus.Ok)
            return service;
        var enabled = context.Config?.Enabled;
        if (enabled is null || enabled.Value.Trim() != "1")
        {
            var why = enabled is null ? "USE_KDUMP is not set" : $"USE_KDUMP={enabled.Value}";
            return CheckResult.Fail(Id, $"{why} in {KdumpConfig.DebianFile}: kdump-tools will not load a crash kernel",
                new Fix("enable kdump-tools", new SetConfigLine(KdumpConfig.DebianFile, "USE_KDUMP=1", enabled?.Line), new RunCommand("systemctl restart kdump-tools")));
        }
        return CheckResult.Ok(Id, service.Message + ", USE_KDUMP=1");
    }

    private CheckResult CheckService(DoctorContext context, string tool, string package, string install, string unit)
    {
        var fs = context.Fs;
        var toolPath = SystemdUnits.FindTool(fs, tool);
        var name = unit[..^".service".Length];
        if (toolPath is null)
            return CheckResult.Fail(Id, $"{tool} not found: {package} is not installed",
                new Fix($"install {package} and enable its service", new RunCommand(install), new RunCommand($"systemctl enable --now {name}")));
        return SystemdUnits.State(fs, unit) switch
        {
            UnitState.Enabled => CheckResult.Ok(Id, $"{toolPath} installed, {unit} enabled"),
            UnitState.Masked => CheckResult.Fail(Id, $"{unit} is masked: no crash kernel is loaded at boot",
                new Fix($"unmask and enable {unit}", new RunCommand($"systemctl unmask {name}"), new RunCommand($"systemctl enable --now {name}"))),
            _ => CheckResult.Fail(Id, $"{unit} is not enabled: no crash kernel is loaded at boot",
                new Fix($"enable {unit}", new RunCommand($"systemctl enable --now {name}"))),
        };
    }

    private CheckResult CheckPlainKexec(DoctorContext context)
    {
        var kexec = SystemdUnits.FindTool(context.Fs, "kexec");
        bool loaded = context.Fs.ReadInteger("/sys/kernel/kexec_crash_loaded") == 1;
        if (kexec is null && loaded)
            return CheckResult.Ok(Id, "no kdump service, but a crash kernel is loaded (a custom kexec -p setup); make sure it is loaded at every boot");
        if (kexec is null)
            return CheckResult.Fail(Id, "no kdump tooling: neither kdumpctl, kdump-config nor kexec is installed",
                new Fix("install the distribution's kdump tooling",
                    new RunCommand("dnf install -y kexec-tools && systemctl enable --now kdump   # RHEL, Fedora"),
                    new RunCommand("apt-get install -y kdump-tools && systemctl enable --now kdump-tools   # Debian, Ubuntu")));
        if (loaded)
            return CheckResult.Ok(Id, $"plain kexec setup ({kexec}): a crash kernel is loaded; make sure a boot script loads it every time");
        return CheckResult.Fail(Id, $"only {kexec} is installed and no crash kernel is loaded: nothing loads one at boot",
            Recommendations.ReloadFix(context, "load a crash kernel with kexec -p (and do so at every boot)"));
    }
}
