// Reading a page the dump does not hold is not a file error: the page was filtered out by the
// dump level, or lies in a hole of the physical address space. Analyses catch this, print
// "(page excluded from dump)" where the value would be, and go on.
namespace Kdx.Dump;

public enum PageAbsence
{
    /// <summary>The pfn is RAM but the dump level filtered the page out (2nd bitmap bit clear).</summary>
    Excluded,
    /// <summary>The pfn is not RAM in the dump (1st bitmap bit clear, or outside every PT_LOAD).</summary>
    Hole,
    /// <summary>The dump was cut short (incomplete flag) before this page was written.</summary>
    Lost,
}

public sealed class PageNotInDumpException(ulong paddr, PageAbsence absence)
    : Exception($"physical address 0x{paddr:x}: page {Describe(absence)}")
{
    public ulong PhysicalAddress { get; } = paddr;
    public PageAbsence Absence { get; } = absence;

    private static string Describe(PageAbsence a) => a switch
    {
        PageAbsence.Excluded => "excluded from dump",
        PageAbsence.Hole => "not in the dump (hole)",
        _ => "lost (dump incomplete)",
    };
}
