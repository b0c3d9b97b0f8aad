// Which pages a dump level drops, told by the crashed kernel's own VMCOREINFO: struct page field
// offsets, page-flag bit numbers and the special _mapcount/page_type values. There is no table of
// kernel versions: a rule whose keys are missing is switched off (its pages are kept) and named.
using Kdx.Dump;

namespace Kdx.Capture;

/// <summary>makedumpfile's dump-level bits (-d).</summary>
[Flags]
public enum DumpLevel
{
    None = 0,
    Zero = 1,          // pages filled with zeros
    Cache = 2,         // page cache without private data
    CachePrivate = 4,  // all page cache
    User = 8,          // anonymous (user process) and hugetlbfs pages
    Free = 16,         // pages in the buddy allocator
    All = 31,
}

public sealed class PageRules
{
    private PageRules() { }

    public int PageStructSize { get; private init; }
    public int FlagsOffset { get; private init; }
    public int MapcountOffset { get; private init; } = -1;
    public int MappingOffset { get; private init; } = -1;
    public int PrivateOffset { get; private init; } = -1;
    public int CompoundOrderOffset { get; private init; } = -1;  // in the first tail page
    public int CompoundDtorOffset { get; private init; } = -1;   // in the first tail page

    public ulong LruMask { get; private init; }
    public ulong PrivateMask { get; private init; }
    public ulong SwapCacheMask { get; private init; }
    public ulong SwapBackedMask { get; private init; }  // 0: unknown (kernels before 4.10), swapcache then counts alone
    public ulong SlabFlagMask { get; private init; }
    public ulong HwPoisonMask { get; private init; }
    public ulong HeadMask { get; private init; }

    public uint? BuddyType { get; private init; }
    public uint? OfflineType { get; private init; }
    public uint? SlabType { get; private init; }
    public uint? HugetlbType { get; private init; }
    public int? HugetlbDtor { get; private init; }

    /// <summary>The levels whose rules can run, a subset of what was asked.</summary>
    public DumpLevel Effective { get; private init; }

    /// <summary>One line per rule switched off, naming the missing VMCOREINFO keys.</summary>
    public IReadOnlyList<string> Problems { get; private init; } = [];

    /// <summary>Whether struct pages must be read at all (makedumpfile scans mem_map only for levels 2, 4, 8, 16).</summary>
    public bool NeedsMemMap => (Effective & (DumpLevel.Cache | DumpLevel.CachePrivate | DumpLevel.User | DumpLevel.Free)) != 0;

    public static PageRules From(VmcoreInfo info, DumpLevel asked)
    {
        var problems = new List<string>();
        int Off(string member) => info.Offset("page", member) is { } x && x < 4096 ? (int)x : -1;
        ulong Bit(string name) => info.Number(name) is long v and >= 0 and < 64 ? 1UL << (int)v : 0;
        uint? Type(string name) => info.Number(name) is { } v ? unchecked((uint)(int)v) : null;
        var effective = asked & DumpLevel.Zero;
        // Turns a level on when all its keys are there, else says which are missing.
        void Enable(DumpLevel level, string what, params (bool Present, string Key)[] keys)
        {
            if ((asked & level) == 0)
                return;
            var missing = new List<string>();
            foreach (var (present, key) in keys)
                if (!present)
                    missing.Add(key);
            if (missing.Count == 0)
                effective |= level;
            else
                problems.Add($"cannot exclude {what} (-d {(int)level}): VMCOREINFO lacks {string.Join(", ", missing)}; those pages are kept");
        }

        var size = info.Size("page");
        var flags = info.Offset("page", "flags");
        if (size is null or 0 or > 4096 || flags is null)
        {
            if ((asked & ~DumpLevel.Zero) != 0)
                problems.Add($"cannot read struct page: VMCOREINFO lacks {(size is null ? "SIZE(page) " : "")}{(flags is null ? "OFFSET(page.flags)" : "")}; only zero pages can be excluded");
            return new PageRules { Effective = effective, Problems = problems };
        }

        // Slab pages never count as free or offline: PG_slab, or a page type from 6.10 on.
        var slabType = Type("PAGE_SLAB_MAPCOUNT_VALUE");
        var slabFlag = slabType is null ? Bit("PG_slab") : 0;
        var mapcount = Off("_mapcount");
        if (mapcount < 0)
            mapcount = Off("page_type");
        var mapping = Off("mapping");
        var priv = Off("private");
        var buddy = Type("PAGE_BUDDY_MAPCOUNT_VALUE");
        var hasLru = info.Has("NUMBER(PG_lru)");
        var hasSwapCache = info.Has("NUMBER(PG_swapcache)");

        Enable(DumpLevel.Free, "free pages", (mapcount >= 0, "OFFSET(page._mapcount)"), (priv >= 0, "OFFSET(page.private)"), (buddy is not null, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"));
        Enable(DumpLevel.Cache, "non-private page cache", (hasLru, "NUMBER(PG_lru)"), (hasSwapCache, "NUMBER(PG_swapcache)"), (mapping >= 0, "OFFSET(page.mapping)"), (info.Has("NUMBER(PG_private)"), "NUMBER(PG_private)"));
        Enable(DumpLevel.CachePrivate, "page cache", (hasLru, "NUMBER(PG_lru)"), (hasSwapCache, "NUMBER(PG_swapcache)"), (mapping >= 0, "OFFSET(page.mapping)"));
        Enable(DumpLevel.User, "user data", (mapping >= 0, "OFFSET(page.mapping)"));

        var head = info.Number("PG_head_mask") is { } hm ? unchecked((ulong)hm) : 0;
        var order = Off("compound_order");
        if ((head == 0 || order < 0) && (asked & ~DumpLevel.Zero) != 0)
            problems.Add($"compound pages are treated page by page: VMCOREINFO lacks {(head == 0 ? "NUMBER(PG_head_mask) " : "")}{(order < 0 ? "OFFSET(page.compound_order)" : "")}");

        return new PageRules
        {
            PageStructSize = (int)size,
            FlagsOffset = (int)flags,
            MapcountOffset = mapcount,
            MappingOffset = mapping,
            PrivateOffset = priv,
            CompoundOrderOffset = head != 0 ? order : -1,
            CompoundDtorOffset = Off("compound_dtor"),
            LruMask = Bit("PG_lru"),
            PrivateMask = Bit("PG_private"),
            SwapCacheMask = Bit("PG_swapcache"),
            SwapBackedMask = Bit("PG_swapbacked"),
            SlabFlagMask = slabFlag,
            HwPoisonMask = Bit("PG_hwpoison"),
            HeadMask = head,
            BuddyType = buddy,
            OfflineType = Type("PAGE_OFFLINE_MAPCOUNT_VALUE"),
            SlabType = slabType,
            HugetlbType = Type("PAGE_HUGETLB_MAPCOUNT_VALUE"),
            HugetlbDtor = info.Number("HUGETLB_PAGE_DTOR") is { } d ? (int)d : null,
            Effective = effective,
            Problems = problems,
        };
    }

    /// <summary>
    /// Whether a _mapcount/page_type word holds the special value <paramref name="type"/>. Values
    /// whose low 24 bits are zero are the one-byte page types of 6.12+ (the low bits then carry
    /// other data); older values are whole words such as -129.
    /// </summary>
    public static bool IsType(uint word, uint? type) => type is { } t && ((t & 0x00ff_ffff) == 0 ? (word & 0xff00_0000) == t : word == t);
}
