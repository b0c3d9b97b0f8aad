// Something an analysis needed and could not read from the dump, and why: a page the dump level
// excluded, a hole, a page lost to an incomplete dump, or an address the kernel's page tables do
// not map. Analyses collect these, print everything else, and let the caller say what is missing.
using Kdx.Dump;

namespace Kdx.Kernel.Memory;

public sealed record ReadGap(string What, string Reason)
{
    /// <summary>A short mark for the place the value would be printed, e.g. "(page excluded from dump)".</summary>
    public required string Mark { get; init; }

    /// <summary>The read failure itself (a PageNotInDumpException or UnmappedAddressException).</summary>
    public required Exception Cause { get; init; }

    public override string ToString() => $"cannot read {What}: {Reason}";

    /// <summary>Reading failed because the data is not in the dump (not because the dump is corrupt).</summary>
    public static bool IsMissingData(Exception e) => e is PageNotInDumpException or UnmappedAddressException;

    public static ReadGap From(string what, Exception e) => new(what, e.Message)
    {
        Cause = e,
        Mark = e switch
        {
            PageNotInDumpException { Absence: PageAbsence.Excluded } => "(page excluded from dump)",
            PageNotInDumpException { Absence: PageAbsence.Lost } => "(page lost: dump incomplete)",
            PageNotInDumpException => "(page not in dump)",
            _ => "(address not mapped)",
        },
    };
}
