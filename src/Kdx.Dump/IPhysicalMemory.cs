// The physical memory of the dumped machine, by physical address or page frame number, whatever
// the file format. Layers above read the kernel through this and never learn the format.
namespace Kdx.Dump;

public interface IPhysicalMemory
{
    /// <summary>Page size of the dumped machine in bytes.</summary>
    int PageSize { get; }

    /// <summary>One past the highest page frame number the dump describes.</summary>
    ulong MaxPfn { get; }

    /// <summary>Whether page <paramref name="pfn"/> is in the dump; never throws for pfns past the end (they are holes).</summary>
    PageState GetPageState(ulong pfn);

    /// <summary>
    /// Fills <paramref name="destination"/> from physical address <paramref name="paddr"/>, across
    /// page boundaries. Throws <see cref="PageNotInDumpException"/> for the first byte whose page is
    /// not in the dump and <see cref="DumpFormatException"/> when the dump's data is corrupt.
    /// </summary>
    void Read(ulong paddr, Span<byte> destination);
}
