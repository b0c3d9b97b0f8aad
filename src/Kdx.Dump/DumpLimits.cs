// Hard caps on every count or size read from a dump, checked before anything is allocated, so a
// hostile file cannot ask for gigabytes or spin a loop for hours.
namespace Kdx.Dump;

public static class DumpLimits
{
    /// <summary>Most ELF program headers accepted (real cores have one per memory range and CPU note).</summary>
    public const int MaxProgramHeaders = 1 << 16;

    /// <summary>Largest PT_NOTE segment (all CPUs' notes plus VMCOREINFO).</summary>
    public const int MaxNoteBytes = 64 << 20;

    /// <summary>Most notes kept from one dump.</summary>
    public const int MaxNotes = 1 << 16;

    /// <summary>Largest kdump bitmap pair read into memory (covers 2^32 pages = 16 TiB of 4K pages, twice).</summary>
    public const long MaxBitmapBytes = 1L << 30;

    /// <summary>Smallest and largest page (block) size accepted.</summary>
    public const int MinPageSize = 4096;
    public const int MaxPageSize = 1 << 18;

    /// <summary>Most kdump sub-header blocks.</summary>
    public const int MaxSubHeaderBlocks = 1 << 12;

    /// <summary>
    /// Most flattened-format records indexed (about 32 bytes of index each). Real writers emit one
    /// record per 16-32 KiB of output (QEMU, makedumpfile), so this allows dumps of hundreds of GiB.
    /// </summary>
    public const long MaxFlattenedRecords = 1L << 24;

    /// <summary>End of the physical address space (x86_64 MAX_PHYSMEM_BITS = 52).</summary>
    public const ulong MaxPhysicalAddress = 1UL << 52;

    /// <summary>Most files in a split set.</summary>
    public const int MaxSplitParts = 256;
}
