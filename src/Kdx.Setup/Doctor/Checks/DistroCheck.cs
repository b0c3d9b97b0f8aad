// os.distro: which distribution the root holds, since tooling, files and fixes depend on it.
namespace Kdx.Setup.Doctor.Checks;

public sealed class DistroCheck : IDoctorCheck
{
    public string Id => "os.distro";

    public CheckResult Run(DoctorContext context)
    {
        var d = context.Machine.Distro;
        var arch = context.Machine.Arch;
        // Only the fixes depend on the distribution, never whether a dump can be captured.
        if (d == Distro.Unknown)
            return CheckResult.Skip(Id, $"no /etc/os-release: distribution unknown ({arch}); fixes are shown for both RHEL and Debian tooling");
        if (d.Family == DistroFamily.Unknown)
            return CheckResult.Ok(Id, $"{d.PrettyName} ({arch}) is neither RHEL- nor Debian-like; kdump checks use whichever tooling is installed");
        return CheckResult.Ok(Id, $"{d.PrettyName} ({arch}), {(d.Family == DistroFamily.RedHat ? "kdumpctl" : "kdump-tools")} tooling");
    }
}
