// nmi.nmimgr: when the nmimgr module is loaded, its lists are valid and at least one reason code
// leads to a panic (codes shadowed by ignore/drop or equal to 0 never do).
namespace Kdx.Setup.Doctor.Checks;

public sealed class NmimgrCheck : IDoctorCheck
{
    public string Id => "nmi.nmimgr";

    public CheckResult Run(DoctorContext context)
    {
        var p = NmimgrParameters.Read(context.Fs);
        if (p is null)
            return CheckResult.Skip(Id, "nmimgr is not loaded (optional: it maps BMC NMI reason codes to a panic)");
        var lists = $"panic [{string.Join(',', p.Panic)}], drop [{string.Join(',', p.Drop)}], ignore [{string.Join(',', p.Ignore)}]";
        if (p.Problems.Count > 0)
            return CheckResult.Warn(Id, $"nmimgr parameters unreadable: {string.Join("; ", p.Problems)}",
                new Fix("reload nmimgr with valid lists (kdx nmi writes them)", new RunCommand("kdx nmi")));
        var shadowed = p.Panic.Except(p.EffectivePanic).Distinct().ToList();
        if (p.EffectivePanic.Count == 0)
        {
            var why = p.Panic.Count == 0 ? "events_panic is empty" : $"every panic code ({string.Join(',', shadowed)}) is 0 or also in ignore/drop, which nmimgr tests first";
            return CheckResult.Warn(Id, $"nmimgr is loaded but never panics: {why} ({lists})",
                new Fix("give nmimgr the reason codes of this machine's BMC NMI (kdx nmi discovers them)", new RunCommand("kdx nmi")));
        }
        var note = shadowed.Count > 0 ? $"; codes {string.Join(',', shadowed)} can never panic (0 or also in ignore/drop)" : "";
        return CheckResult.Ok(Id, $"nmimgr loaded: NMIs with reason {string.Join(',', p.EffectivePanic)} panic ({lists}){note}");
    }
}
