// Runs the doctor's checks in a fixed order and collects a report; a check that throws is
// reported as a warning naming the check, never as a crash of the whole run.
using Kdx.Setup.Doctor.Checks;

namespace Kdx.Setup.Doctor;

public static class Doctor
{
    /// <summary>Every check, in report order. Ids are documented in docs/doctor.md.</summary>
    public static IReadOnlyList<IDoctorCheck> AllChecks() =>
    [
        new DistroCheck(),
        new KdumpToolingCheck(),
        new KdumpConfigCheck(),
        new CrashKernelCmdlineCheck(),
        new CrashKernelReservedCheck(),
        new CrashKernelLoadedCheck(),
        new CrashKernelSizeCheck(),
        new DumpTargetCheck(),
        new DumpSpaceCheck(),
        new ExistingDumpsCheck(),
        new LockdownCheck(),
        .. SysctlCheck.Rules.Select(r => new SysctlCheck(r)),
        new NmiPanicPathCheck(),
        new NmimgrCheck(),
    ];

    /// <summary>A context for a root: disk space from the fixture table when the root has one, else statvfs.</summary>
    public static DoctorContext CreateContext(string root, string? arch = null, IDumpProbe? dumpProbe = null)
    {
        var fs = new RootedFileSystem(root);
        IDiskSpaceProbe space = (fs.IsHostRoot ? null : FixtureDiskSpaceProbe.Load(fs)) ?? (IDiskSpaceProbe)new StatvfsDiskSpaceProbe();
        return new DoctorContext(new Machine(fs, arch), space, dumpProbe ?? new SignatureDumpProbe());
    }

    public static DoctorReport Run(DoctorContext context, IEnumerable<IDoctorCheck>? checks = null)
    {
        var results = new List<CheckResult>();
        foreach (var check in checks ?? AllChecks())
        {
            try
            {
                results.Add(check.Run(context));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                results.Add(CheckResult.Warn(check.Id, $"check could not run: {e.GetType().Name}: {e.Message}"));
            }
        }
        return new DoctorReport(context.Machine, results);
    }
}

public sealed class DoctorReport(Machine machine, IReadOnlyList<CheckResult> results)
{
    public Machine Machine { get; } = machine;

    public IReadOnlyList<CheckResult> Results { get; } = results;

    /// <summary>The worst status (skips count as ok).</summary>
    public CheckStatus Status => Results.Select(r => r.Status == CheckStatus.Skip ? CheckStatus.Ok : r.Status).DefaultIfEmpty(CheckStatus.Ok).Max();

    /// <summary>0 ready, 1 warnings only, 2 not ready.</summary>
    public int ExitCode => Status switch
    {
        CheckStatus.Fail => 2,
        CheckStatus.Warn => 1,
        _ => 0,
    };

    public string Verdict => ExitCode switch
    {
        0 => "ready",
        1 => "warnings",
        _ => "not-ready",
    };

    public CheckResult? this[string id] => Results.FirstOrDefault(r => r.Id == id);
}
