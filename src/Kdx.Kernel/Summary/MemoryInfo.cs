// crash's `kmem -i` totals from the dump alone: vm_zone_stat/vm_node_stat indexed by the
// enum zone_stat_item/node_stat_item values in BTF, totalram_pages, block-device page cache
// (the inodes of blockdev_superblock), the default hstate, swap counters and the overcommit limit.
using Kdx.Kernel.Memory;
using Kdx.Kernel.Objects;

namespace Kdx.Kernel.Summary;

public sealed record MemoryInfo
{
    public required ulong PageSize { get; init; }
    public required ulong TotalPages { get; init; }
    public required ulong FreePages { get; init; }
    public ulong UsedPages => TotalPages >= FreePages ? TotalPages - FreePages : 0;
    public required ulong BufferPages { get; init; }
    public required ulong CachedPages { get; init; }
    public required ulong SlabPages { get; init; }
    public required ulong HugePages { get; init; }
    public required ulong HugeFreePages { get; init; }
    public required ulong SwapPages { get; init; }
    public required ulong SwapFreePages { get; init; }
    public ulong SwapUsedPages => SwapPages >= SwapFreePages ? SwapPages - SwapFreePages : 0;
    public required ulong CommitLimitPages { get; init; }
    public required ulong CommittedPages { get; init; }

    /// <summary>
    /// Counters the dump could not give (key: the property name, e.g. "FreePages"), with why; such a
    /// counter holds 0 and must be shown as missing. UsedPages is missing when TotalPages or FreePages is.
    /// </summary>
    public IReadOnlyDictionary<string, ReadGap> Missing { get; init; } = new Dictionary<string, ReadGap>();

    public static MemoryInfo Read(DumpedKernel kernel)
    {
        var o = kernel.Objects;
        var m = kernel.Memory;
        var pageSize = kernel.VmcoreInfo.PageSize ?? throw KernelLayout.Missing("PAGESIZE");
        var btf = kernel.Layout.Btf;
        var missing = new Dictionary<string, ReadGap>();
        ulong Count(string field, string what, Func<long> read)
        {
            try
            {
                return (ulong)Math.Max(0, read());
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                missing[field] = ReadGap.From(what, e);
                return 0;
            }
        }
        ulong StatAddress(string array, string item) => kernel.RequireSymbol(array) + (ulong)o.Enumerator(item) * 8;
        long Stat(string array, string item) => (long)m.ReadU64(StatAddress(array, item));
        string StatName(string array, string item) => $"{array}[{item}] at 0x{StatAddress(array, item):x}";
        ulong Global(string field, string symbol, Func<ulong, long> read) => Count(field, $"{symbol} at 0x{kernel.RequireSymbol(symbol):x}", () => read(kernel.RequireSymbol(symbol)));

        var totalSymbol = kernel.SymbolAddress("_totalram_pages") is not null ? "_totalram_pages" : "totalram_pages";
        var total = Global("TotalPages", totalSymbol, a => (long)m.ReadU64(a));
        var buffers = Count("BufferPages", "the block-device inodes (blockdev_superblock->s_inodes)", () => (long)BlockDevicePages(kernel));
        string[] cachedItems = btf?.EnumeratorValue("NR_SWAPCACHE") is not null ? ["NR_FILE_PAGES", "NR_SWAPCACHE"] : ["NR_FILE_PAGES"];
        var cached = Count("CachedPages", string.Join(", ", cachedItems.Select(i => StatName("vm_node_stat", i))), () =>
            Stat("vm_node_stat", "NR_FILE_PAGES") - (cachedItems.Length > 1 ? Stat("vm_node_stat", "NR_SWAPCACHE") : 0) - (long)buffers);
        if (missing.TryGetValue("BufferPages", out var noBuffers))
            missing.TryAdd("CachedPages", noBuffers); // cached is file pages less buffers
        string[] slabItems =
        [
            btf?.EnumeratorValue("NR_SLAB_RECLAIMABLE_B") is not null ? "NR_SLAB_RECLAIMABLE_B" : "NR_SLAB_RECLAIMABLE",
            btf?.EnumeratorValue("NR_SLAB_UNRECLAIMABLE_B") is not null ? "NR_SLAB_UNRECLAIMABLE_B" : "NR_SLAB_UNRECLAIMABLE",
        ];
        var slab = Count("SlabPages", string.Join(", ", slabItems.Select(i => StatName("vm_node_stat", i))),
            () => Stat("vm_node_stat", slabItems[0]) + Stat("vm_node_stat", slabItems[1]));
        var (huge, hugeFree) = (0UL, 0UL);
        try
        {
            (huge, hugeFree) = Huge(kernel);
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            missing["HugePages"] = missing["HugeFreePages"] = ReadGap.From("the default hstate (hstates[default_hstate_idx])", e);
        }
        var swap = Global("SwapPages", "total_swap_pages", a => (long)m.ReadU64(a));
        var swapFree = Global("SwapFreePages", "nr_swap_pages", a => (long)m.ReadU64(a));
        var limit = Count("CommitLimitPages", "sysctl_overcommit_kbytes, sysctl_overcommit_ratio", () =>
        {
            var kbytes = m.ReadU64(kernel.RequireSymbol("sysctl_overcommit_kbytes"));
            return (long)(kbytes != 0
                ? kbytes / (pageSize / 1024) + swap
                : (total - huge) * m.ReadU32(kernel.RequireSymbol("sysctl_overcommit_ratio")) / 100 + swap);
        });
        foreach (var input in (string[])["TotalPages", "HugePages", "SwapPages"])
            if (missing.TryGetValue(input, out var gap))
                missing.TryAdd("CommitLimitPages", gap);
        var info = new MemoryInfo
        {
            PageSize = pageSize,
            TotalPages = total,
            FreePages = Count("FreePages", StatName("vm_zone_stat", "NR_FREE_PAGES"), () => Stat("vm_zone_stat", "NR_FREE_PAGES")),
            BufferPages = buffers,
            CachedPages = cached,
            SlabPages = slab,
            HugePages = huge,
            HugeFreePages = hugeFree,
            SwapPages = swap,
            SwapFreePages = swapFree,
            CommitLimitPages = limit,
            // vm_memory_committed() is percpu_counter_read_positive(): the shared count without the per-CPU deltas.
            CommittedPages = Global("CommittedPages", "vm_committed_as", a => o.Integer(a, "percpu_counter", "count")),
            Missing = missing,
        };
        foreach (var (derived, inputs) in (ReadOnlySpan<(string, string[])>)[("UsedPages", ["TotalPages", "FreePages"]), ("SwapUsedPages", ["SwapPages", "SwapFreePages"])])
            foreach (var input in inputs)
                if (missing.TryGetValue(input, out var gap))
                    missing.TryAdd(derived, gap);
        return info;
    }

    /// <summary>nr_blockdev_pages(): page cache of every block-device inode (blockdev_superblock's s_inodes).</summary>
    private static ulong BlockDevicePages(DumpedKernel kernel)
    {
        var o = kernel.Objects;
        var sb = kernel.Memory.ReadPointer(kernel.RequireSymbol("blockdev_superblock"));
        if (sb == 0)
            return 0;
        ulong pages = 0;
        foreach (var inode in o.ListEntries(o.AddressOf(sb, "super_block", "s_inodes"), "inode", "i_sb_list"))
        {
            var mapping = o.Pointer(inode, "inode", "i_mapping");
            if (mapping != 0)
                pages += o.Unsigned(mapping, "address_space", "nrpages");
        }
        return pages;
    }

    /// <summary>The default hstate's pages (in base pages) and free pages; 0 without hugetlbfs.</summary>
    private static (ulong Total, ulong Free) Huge(DumpedKernel kernel)
    {
        if (kernel.SymbolAddress("hstates") is not { } hstates || kernel.SymbolAddress("default_hstate_idx") is not { } idx)
            return (0, 0);
        var o = kernel.Objects;
        var h = hstates + kernel.Memory.ReadU32(idx) * o.SizeOf("hstate");
        var perHuge = 1UL << (int)o.Unsigned(h, "hstate", "order");
        return (o.Unsigned(h, "hstate", "nr_huge_pages") * perHuge, o.Unsigned(h, "hstate", "free_huge_pages") * perHuge);
    }
}
