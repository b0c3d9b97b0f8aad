// One thing the doctor verifies. Ids are stable: monitoring and docs/doctor.md refer to them.
namespace Kdx.Setup.Doctor;

public interface IDoctorCheck
{
    /// <summary>Stable dotted id, e.g. "crashkernel.loaded".</summary>
    string Id { get; }

    CheckResult Run(DoctorContext context);
}
