// The kernel's array of struct page (mem_map), found through SPARSEMEM's mem_section table as
// VMCOREINFO describes it: SYMBOL/LENGTH/SIZE(mem_section), OFFSET(mem_section.section_mem_map),
// SECTION_SIZE_BITS and MAX_PHYSMEM_BITS. Extreme (two-level) or flat tables are told apart by
// LENGTH(mem_section). Struct pages are read through the kernel's page tables (vmemmap).
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;

namespace Kdx.Capture;

public sealed class MemMap
{
    private const ulong SectionHasMemMap = 1UL << 1; // SECTION_HAS_MEM_MAP, stable since sparsemem began

    private readonly IKernelMemory _kernel;
    private readonly ulong _table;          // the root array (extreme) or the section array (flat)
    private readonly bool _extreme;
    private readonly ulong _roots;
    private readonly int _sectionSize;      // SIZE(mem_section)
    private readonly int _sectionsPerRoot;
    private readonly int _mapOffset;        // OFFSET(mem_section.section_mem_map)
    private readonly ulong _mapMask;
    private ulong _cachedRoot = ulong.MaxValue;
    private byte[]? _rootSections;

    private MemMap(IKernelMemory kernel, ulong table, bool extreme, ulong roots, int sectionSize, int mapOffset, int pfnSectionShift, int structPageSize, int pageSize)
    {
        _kernel = kernel;
        _table = table;
        _extreme = extreme;
        _roots = roots;
        _sectionSize = sectionSize;
        _sectionsPerRoot = pageSize / sectionSize;
        _mapOffset = mapOffset;
        PfnSectionShift = pfnSectionShift;
        StructPageSize = structPageSize;
        // The encoded map is page aligned: the low bits are section flags whatever their number.
        _mapMask = ~((ulong)pageSize - 1);
    }

    /// <summary>log2 of the pages per section.</summary>
    public int PfnSectionShift { get; }
    public int StructPageSize { get; }
    public ulong PagesPerSection => 1UL << PfnSectionShift;

    /// <summary>The mem_map of this dump, or null with the reason (named VMCOREINFO keys) when it cannot be found.</summary>
    public static MemMap? Open(VmcoreSource source, int structPageSize, out string? problem)
    {
        var info = source.VmcoreInfo;
        var missing = new List<string>();
        var sym = info.Symbol("mem_section");
        var length = info.Length("mem_section");
        var size = info.Size("mem_section");
        var offset = info.Offset("mem_section", "section_mem_map");
        var sectionBits = info.Number("SECTION_SIZE_BITS");
        var physBits = info.Number("MAX_PHYSMEM_BITS");
        if (sym is null) missing.Add("SYMBOL(mem_section)");
        if (length is null) missing.Add("LENGTH(mem_section)");
        if (size is null) missing.Add("SIZE(mem_section)");
        if (offset is null) missing.Add("OFFSET(mem_section.section_mem_map)");
        if (sectionBits is null) missing.Add("NUMBER(SECTION_SIZE_BITS)");
        if (physBits is null) missing.Add("NUMBER(MAX_PHYSMEM_BITS)");
        if (missing.Count > 0)
        {
            problem = $"cannot find mem_map (SPARSEMEM): VMCOREINFO lacks {string.Join(", ", missing)}";
            return null;
        }
        var pageShift = System.Numerics.BitOperations.Log2((uint)source.PageSize);
        if (sectionBits <= pageShift || sectionBits > physBits || physBits > 64 || size is 0 or > 4096 || offset + 8 > size)
        {
            problem = $"implausible SPARSEMEM geometry (SECTION_SIZE_BITS {sectionBits}, MAX_PHYSMEM_BITS {physBits}, SIZE(mem_section) {size})";
            return null;
        }
        var nrSections = 1UL << (int)(physBits!.Value - sectionBits!.Value);
        var perRoot = (ulong)source.PageSize / size!.Value;
        bool extreme;
        if (length == nrSections)
            extreme = false;
        else if (length == (nrSections + perRoot - 1) / perRoot)
            extreme = true;
        else
        {
            problem = $"LENGTH(mem_section)={length} is neither the number of sections ({nrSections}) nor of section roots ({(nrSections + perRoot - 1) / perRoot})";
            return null;
        }
        X86_64AddressSpace kernel;
        try
        {
            kernel = KernelMemory.Open(source.Dump);
        }
        catch (DumpFormatException e)
        {
            problem = $"cannot read kernel memory: {e.Message}";
            return null;
        }
        problem = null;
        return new MemMap(kernel, sym!.Value, extreme, length!.Value, (int)size.Value, (int)offset!.Value, (int)(sectionBits.Value - pageShift), structPageSize, source.PageSize);
    }

    /// <summary>Virtual address of the struct page of the first pfn of <paramref name="section"/>, or 0 when it has none.</summary>
    public ulong SectionMap(ulong section)
    {
        try
        {
            Span<byte> raw = stackalloc byte[8];
            if (_extreme)
            {
                var root = section / (ulong)_sectionsPerRoot;
                if (root >= _roots)
                    return 0;
                if (root != _cachedRoot)
                {
                    _kernel.Read(_table + root * 8, raw);
                    var rootAddr = BinaryPrimitives.ReadUInt64LittleEndian(raw);
                    _rootSections = null;
                    if (rootAddr != 0)
                    {
                        _rootSections = new byte[_sectionsPerRoot * _sectionSize];
                        _kernel.Read(rootAddr, _rootSections);
                    }
                    _cachedRoot = root;
                }
                if (_rootSections is null)
                    return 0;
                var at = (int)(section % (ulong)_sectionsPerRoot) * _sectionSize + _mapOffset;
                return Decode(BinaryPrimitives.ReadUInt64LittleEndian(_rootSections.AsSpan(at)), section);
            }
            if (section >= _roots)
                return 0;
            _kernel.Read(_table + section * (ulong)_sectionSize + (ulong)_mapOffset, raw);
            return Decode(BinaryPrimitives.ReadUInt64LittleEndian(raw), section);
        }
        catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException or DumpFormatException)
        {
            return 0;
        }
    }

    // section_mem_map holds mem_map minus the section's first pfn (in struct pages), plus flags.
    private ulong Decode(ulong encoded, ulong section)
    {
        if ((encoded & SectionHasMemMap) == 0)
            return 0;
        return (encoded & _mapMask) + (section << PfnSectionShift) * (ulong)StructPageSize;
    }

    /// <summary>
    /// One past the last pfn of the highest memory section below <paramref name="maxPfn"/> that has a
    /// mem_map (at most <paramref name="maxPfn"/>), or null when none has.
    /// </summary>
    public ulong? EndOfMappedSections(ulong maxPfn)
    {
        var tableSections = _extreme ? _roots * (ulong)_sectionsPerRoot : _roots; // what mem_section can describe
        for (var section = Math.Min((maxPfn + PagesPerSection - 1) >> PfnSectionShift, tableSections); section-- > 0;)
            if (SectionMap(section) != 0)
                return Math.Min((section + 1) << PfnSectionShift, maxPfn);
        return null;
    }

    /// <summary>Reads the struct pages at <paramref name="vaddr"/>; false when they are not in the dump.</summary>
    public bool TryRead(ulong vaddr, Span<byte> destination)
    {
        try
        {
            _kernel.Read(vaddr, destination);
            return true;
        }
        catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException)
        {
            return false;
        }
    }
}
