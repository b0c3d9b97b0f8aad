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
    public ulong UsedPages => TotalPages - FreePages;
    public required ulong BufferPages { get; init; }
    public required ulong CachedPages { get; init; }
    public required ulong SlabPages { get; init; }
    public required ulong HugePages { get; init; }
    public required ulong HugeFreePages { get; init; }
    public required ulong SwapPages { get; init; }
    public required ulong SwapFreePages { get; init; }
    public ulong SwapUsedPages => SwapPages - SwapFreePages;
    public required ulong CommitLimitPages { get; init; }
    public required ulong CommittedPages { get; init; }

    public static MemoryInfo Read(DumpedKernel kernel)
    {
        var o = kernel.Objects;
        var m = kernel.Memory;
        var pageSize = kernel.VmcoreInfo.PageSize ?? throw KernelLayout.Missing("PAGESIZE");
        long Stat(string array, string item) => (long)m.ReadU64(kernel.RequireSymbol(array) + (ulong)o.Enumerator(item) * 8);

        var total = SystemSummary.TotalRamPages(kernel);
        var buffers = BlockDevicePages(kernel);
        var swapCache = kernel.Layout.Btf?.EnumeratorValue("NR_SWAPCACHE") is not null ? Stat("vm_node_stat", "NR_SWAPCACHE") : 0;
        var cached = Stat("vm_node_stat", "NR_FILE_PAGES") - swapCache - (long)buffers;
        var slab = Stat("vm_node_stat", kernel.Layout.Btf?.EnumeratorValue("NR_SLAB_RECLAIMABLE_B") is not null ? "NR_SLAB_RECLAIMABLE_B" : "NR_SLAB_RECLAIMABLE")
                   + Stat("vm_node_stat", kernel.Layout.Btf?.EnumeratorValue("NR_SLAB_UNRECLAIMABLE_B") is not null ? "NR_SLAB_UNRECLAIMABLE_B" : "NR_SLAB_UNRECLAIMABLE");
        var (huge, hugeFree) = Huge(kernel);
        var swap = (ulong)Math.Max(0, (long)m.ReadU64(kernel.RequireSymbol("total_swap_pages")));
        var swapFree = (ulong)Math.Max(0, (long)m.ReadU64(kernel.RequireSymbol("nr_swap_pages")));
        var kbytes = m.ReadU64(kernel.RequireSymbol("sysctl_overcommit_kbytes"));
        var limit = kbytes != 0
            ? kbytes / (pageSize / 1024) + swap
            : (total - huge) * m.ReadU32(kernel.RequireSymbol("sysctl_overcommit_ratio")) / 100 + swap;
        return new MemoryInfo
        {
            PageSize = pageSize,
            TotalPages = total,
            FreePages = (ulong)Math.Max(0, Stat("vm_zone_stat", "NR_FREE_PAGES")),
            BufferPages = buffers,
            CachedPages = (ulong)Math.Max(0, cached),
            SlabPages = (ulong)Math.Max(0, slab),
            HugePages = huge,
            HugeFreePages = hugeFree,
            SwapPages = swap,
            SwapFreePages = swapFree,
            CommitLimitPages = limit,
            // vm_memory_committed() is percpu_counter_read_positive(): the shared count without the per-CPU deltas.
            CommittedPages = (ulong)Math.Max(0, o.Integer(kernel.RequireSymbol("vm_committed_as"), "percpu_counter", "count")),
        };
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
