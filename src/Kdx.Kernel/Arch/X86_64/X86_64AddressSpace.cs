// Kernel virtual memory of an x86_64 dump: walks the kernel's own page tables (4 or 5 levels,
// 1G/2M/4K pages) from init_top_pgt, so the direct map, the KASLR-shifted kernel image, modules
// and vmalloc space all resolve the way the CPU resolved them when the kernel crashed.
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Arch.X86_64;

public sealed class X86_64AddressSpace : IKernelMemory
{
    /// <summary>__START_KERNEL_map: where the kernel image is mapped before the KASLR shift.</summary>
    public const ulong StartKernelMap = 0xffffffff80000000;

    private const ulong Present = 1UL << 0;       // _PAGE_PRESENT
    private const ulong PageSizeBit = 1UL << 7;   // _PAGE_PSE: a 1G (PUD) or 2M (PMD) leaf
    private const ulong PhysMask = 0x000f_ffff_ffff_f000; // bits 12..51 of an entry
    private const int TlbSize = 1024;

    private readonly IPhysicalMemory _phys;
    private readonly ulong _entryMask;
    private readonly object _tlbLock = new();
    private readonly ulong[] _tlbTag = new ulong[TlbSize];  // vaddr page + 1
    private readonly ulong[] _tlbPage = new ulong[TlbSize]; // physical page address
    private readonly byte[] _tlbShift = new byte[TlbSize];  // log2 of the size of the mapping (page, 2M or 1G leaf) holding it
    private readonly Lazy<ulong?> _directMapBase;

    /// <param name="phys">The dump's physical memory.</param>
    /// <param name="rootTable">Physical address of the top-level table (init_top_pgt).</param>
    /// <param name="fiveLevel">Whether the kernel ran with 5-level paging (LA57).</param>
    /// <param name="smeMask">The AMD memory-encryption bit in page table entries (NUMBER(sme_mask)), cleared from addresses.</param>
    public X86_64AddressSpace(IPhysicalMemory phys, ulong rootTable, bool fiveLevel, ulong smeMask = 0)
    {
        _phys = phys;
        RootTable = rootTable & PhysMask;
        Levels = fiveLevel ? 5 : 4;
        _entryMask = PhysMask & ~smeMask;
        _directMapBase = new(FindDirectMapBase);
    }

    /// <summary>Physical address of the top-level page table.</summary>
    public ulong RootTable { get; }

    /// <summary>4 or 5.</summary>
    public int Levels { get; }

    /// <summary>
    /// Builds the address space from VMCOREINFO: SYMBOL(init_top_pgt) is a kernel-image address,
    /// turned physical with NUMBER(phys_base); NUMBER(pgtable_l5_enabled) picks the depth.
    /// </summary>
    public static X86_64AddressSpace FromVmcoreInfo(IPhysicalMemory phys, VmcoreInfo info, string file)
    {
        var root = info.Symbol("init_top_pgt")
            ?? throw new DumpFormatException(file, 0, "VMCOREINFO has no SYMBOL(init_top_pgt): cannot find the kernel page tables");
        var physBase = info.Number("phys_base")
            ?? throw new DumpFormatException(file, 0, "VMCOREINFO has no NUMBER(phys_base)");
        if (root < StartKernelMap)
            throw new DumpFormatException(file, 0, $"SYMBOL(init_top_pgt)=0x{root:x} is not a kernel-image address");
        var fiveLevel = (info.Number("pgtable_l5_enabled") ?? 0) != 0;
        var sme = (ulong)(info.Number("sme_mask") ?? 0);
        return new X86_64AddressSpace(phys, KernelImageToPhysical(root, (ulong)physBase), fiveLevel, sme);
    }

    /// <summary>paddr of a kernel-image address: vaddr - __START_KERNEL_map + phys_base.</summary>
    public static ulong KernelImageToPhysical(ulong vaddr, ulong physBase) => vaddr - StartKernelMap + physBase;

    /// <summary>Whether <paramref name="vaddr"/> is canonical for this paging depth.</summary>
    public bool IsCanonical(ulong vaddr)
    {
        var shift = Levels == 5 ? 56 : 47;
        var top = (long)vaddr >> shift;
        return top == 0 || top == -1;
    }

    /// <summary>
    /// Translates through the page tables. Returns false (with the reason) when an entry is not
    /// present; throws <see cref="PageNotInDumpException"/> when a page table itself is not in the dump.
    /// </summary>
    public bool TryTranslate(ulong vaddr, out ulong paddr, out int pageShift, out string? fault)
    {
        paddr = 0;
        pageShift = 12;
        fault = null;
        if (!IsCanonical(vaddr))
        {
            fault = "not a canonical address";
            return false;
        }
        Span<byte> raw = stackalloc byte[8];
        var table = RootTable;
        for (var level = Levels; level >= 1; level--)
        {
            var shift = 12 + 9 * (level - 1);
            var index = (vaddr >> shift) & 511;
            _phys.Read(table + index * 8, raw);
            var entry = BinaryPrimitives.ReadUInt64LittleEndian(raw);
            if ((entry & Present) == 0)
            {
                fault = $"not mapped (level {level} entry {index} of table 0x{table:x} is not present)";
                return false;
            }
            // PSE at the PUD (level 3) or PMD (level 2) makes the entry a 1G or 2M leaf.
            if (level == 1 || (level is 2 or 3 && (entry & PageSizeBit) != 0))
            {
                var sizeMask = (1UL << shift) - 1;
                paddr = (entry & _entryMask & ~sizeMask) | (vaddr & sizeMask);
                pageShift = shift;
                return true;
            }
            table = entry & _entryMask;
        }
        fault = "page walk did not end";
        return false;
    }

    /// <summary>The physical address of <paramref name="vaddr"/>, or <see cref="UnmappedAddressException"/>.</summary>
    public ulong Translate(ulong vaddr) => Translate(vaddr, out _);

    // The physical address of vaddr and how many bytes from there on the same mapping (a page or a
    // 2M/1G leaf) holds contiguously.
    private ulong Translate(ulong vaddr, out ulong contiguous)
    {
        var page = vaddr & ~0xfffUL;
        var slot = (int)((vaddr >> 12) % TlbSize);
        int shift;
        lock (_tlbLock)
        {
            if (_tlbTag[slot] == page + 1)
            {
                shift = _tlbShift[slot];
                contiguous = (1UL << shift) - (vaddr & ((1UL << shift) - 1));
                return _tlbPage[slot] | (vaddr & 0xfff);
            }
        }
        if (!TryTranslate(vaddr, out var paddr, out shift, out var fault))
            throw new UnmappedAddressException(vaddr, fault!);
        lock (_tlbLock)
        {
            _tlbTag[slot] = page + 1;
            _tlbPage[slot] = paddr & ~0xfffUL;
            _tlbShift[slot] = (byte)shift;
        }
        contiguous = (1UL << shift) - (vaddr & ((1UL << shift) - 1));
        return paddr;
    }

    /// <summary>Reads kernel virtual memory: one physical read per mapping (a 2M or 1G leaf is read in one piece).</summary>
    public void Read(ulong vaddr, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var paddr = Translate(vaddr, out var contiguous);
            var n = (int)Math.Min((ulong)destination.Length, contiguous);
            _phys.Read(paddr, destination[..n]);
            destination = destination[n..];
            vaddr += (ulong)n;
        }
    }

    /// <summary>
    /// The base of the direct map of all physical memory (page_offset_base), found in the page
    /// tables themselves: the lowest 1 GiB-aligned kernel-half address below the kernel image
    /// that maps physical 0 and 16 MiB further on maps physical 16 MiB. KASLR moves the base in
    /// 1 GiB steps and keeps it below vmalloc and vmemmap space, so this finds it without
    /// constants. Null when no such mapping exists (a dump without usable page tables).
    /// </summary>
    public ulong? DirectMapBase => _directMapBase.Value;

    private ulong? FindDirectMapBase()
    {
        var kernelHalf = Levels == 5 ? 0xff00000000000000 : 0xffff800000000000;
        return SearchDirectMap(RootTable, Levels, kernelHalf, first: 256);
    }

    // Visits present entries in address order down to the PUD level, where each present entry
    // starts a 1 GiB-aligned candidate.
    private ulong? SearchDirectMap(ulong table, int level, ulong vbase, ulong first)
    {
        const ulong Probe = 16UL << 20;
        var shift = 12 + 9 * (level - 1);
        Span<byte> raw = stackalloc byte[8];
        for (var index = first; index < 512; index++)
        {
            var vaddr = vbase + ((index - first) << shift);
            if (vaddr >= StartKernelMap)
                return null;
            ulong entry;
            try
            {
                _phys.Read(table + index * 8, raw);
                entry = BinaryPrimitives.ReadUInt64LittleEndian(raw);
            }
            catch (PageNotInDumpException)
            {
                return null;
            }
            if ((entry & Present) == 0)
                continue;
            if (level > 3)
            {
                if (SearchDirectMap(entry & _entryMask, level - 1, vaddr, 0) is { } found)
                    return found;
                continue;
            }
            try
            {
                if (!TryTranslate(vaddr + Probe, out var p, out _, out _) || p != Probe)
                    continue;
                if (TryTranslate(vaddr, out var p0, out _, out _) && p0 != 0)
                    continue;
                return vaddr;
            }
            catch (PageNotInDumpException)
            {
                // a page table below this entry is not in the dump: not this candidate
            }
        }
        return null;
    }
}
