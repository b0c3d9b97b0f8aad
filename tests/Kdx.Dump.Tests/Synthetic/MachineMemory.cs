// A SyntheticMachine seen directly as physical memory, for tests of layers above the file formats.
namespace Kdx.Dump.Tests.Synthetic;

public sealed class MachineMemory(SyntheticMachine m) : IPhysicalMemory
{
    public int PageSize => m.PageSize;

    public ulong MaxPfn => m.MaxPfn;

    public PageState GetPageState(ulong pfn) =>
        m.Pages.ContainsKey(pfn) ? PageState.Present : m.Excluded.Contains(pfn) ? PageState.Excluded : PageState.Hole;

    public void Read(ulong paddr, Span<byte> destination)
    {
        var ps = (ulong)m.PageSize;
        while (!destination.IsEmpty)
        {
            var pfn = paddr / ps;
            if (!m.Pages.TryGetValue(pfn, out var page))
                throw new PageNotInDumpException(paddr, GetPageState(pfn).ToAbsence());
            var off = (int)(paddr % ps);
            var n = Math.Min(destination.Length, m.PageSize - off);
            page.AsSpan(off, n).CopyTo(destination);
            destination = destination[n..];
            paddr += (ulong)n;
        }
    }
}
