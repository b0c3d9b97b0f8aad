// Decides, chunk by chunk of pfns, which pages a dump level keeps: starts from the pages the core
// holds (the 1st bitmap) and clears those whose struct page says free, page cache, user data,
// hardware-poisoned or offline — makedumpfile's rules, in its order. Chunks must be visited in
// increasing pfn order: a compound or buddy block that runs past a chunk carries into the next.
using System.Buffers;
using System.Buffers.Binary;

namespace Kdx.Capture;

/// <summary>Pages excluded per reason (each page counted once, under the first rule that took it).</summary>
public sealed class ExclusionCounts
{
    public ulong Free, Cache, CachePrivate, User, HwPoison, Offline;
    public ulong Total => Free + Cache + CachePrivate + User + HwPoison + Offline;
    public void Reset() => Free = Cache = CachePrivate = User = HwPoison = Offline = 0;
    public ExclusionCounts Clone() => (ExclusionCounts)MemberwiseClone();
}

public sealed class PageClassifier
{
    private enum Reason { Free, Cache, CachePrivate, User, HwPoison, Offline }

    private readonly VmcoreSource _source;
    private readonly PageRules _rules;
    private readonly MemMap? _memMap;
    private ulong _carryEnd;          // pfns below this belong to a block excluded in an earlier chunk
    private Reason _carryReason;

    public PageClassifier(VmcoreSource source, DumpLevel level)
    {
        _source = source;
        _rules = PageRules.From(source.VmcoreInfo, level);
        var problems = new List<string>(_rules.Problems);
        if (_rules.NeedsMemMap)
        {
            _memMap = source.MemMap; // opened with SIZE(page), the size the rules read struct pages at
            if (source.MemMapProblem is { } problem)
                problems.Add($"{problem}; only zero pages can be excluded");
        }
        Problems = problems;
        Level = level;
        ChunkPages = _memMap is null ? 1UL << 18 : Math.Max(_memMap.PagesPerSection, 1UL << 15);
    }

    public DumpLevel Level { get; }
    public PageRules Rules => _rules;
    public IReadOnlyList<string> Problems { get; }
    public ExclusionCounts Counts { get; } = new();

    /// <summary>Pfns per chunk: a multiple of the section size, so struct page reads stay within sections.</summary>
    public ulong ChunkPages { get; }

    /// <summary>Starts over at pfn 0 (for a second pass) with zeroed counts.</summary>
    public void Restart()
    {
        _carryEnd = 0;
        Counts.Reset();
    }

    /// <summary>
    /// Fills <paramref name="present"/> (1st bitmap) and <paramref name="dumpable"/> (2nd) for pfns
    /// [<paramref name="first"/>, first + count); bit i of word i/64 is pfn first + i.
    /// </summary>
    public void Classify(ulong first, ulong count, Span<ulong> present, Span<ulong> dumpable)
    {
        var words = (int)((count + 63) / 64);
        present[..words].Clear();
        _source.MarkPresent(first, count, present);
        present[..words].CopyTo(dumpable);
        _source.ClearUnreadable(first, count, dumpable);
        if (_memMap is null)
            return;
        var perSection = _memMap.PagesPerSection;
        var buffer = ArrayPool<byte>.Shared.Rent((int)(perSection * (ulong)_rules.PageStructSize));
        try
        {
            for (var start = first; start < first + count;)
            {
                var section = start >> _memMap.PfnSectionShift;
                var end = Math.Min((section + 1) << _memMap.PfnSectionShift, first + count);
                ClassifyRun(section, start, end, first, present, dumpable, buffer);
                start = end;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ClassifyRun(ulong section, ulong start, ulong end, ulong first, Span<ulong> present, Span<ulong> dumpable, byte[] buffer)
    {
        var size = _rules.PageStructSize;
        var pfn = start;
        // A block excluded in an earlier run continues here.
        for (; pfn < end && pfn < _carryEnd; pfn++)
            Clear(pfn - first, dumpable, _carryReason);
        if (pfn >= end)
            return;
        if (!PfnBits.Any(present, pfn - first, end - first))
            return;
        var map = _memMap!.SectionMap(section);
        if (map == 0)
            return; // no struct pages for this section: makedumpfile keeps such pages too
        var runStart = pfn;
        var n = (int)(end - runStart);
        var structs = buffer.AsSpan(0, n * size);
        ReadStructs(map + (runStart - (section << _memMap.PfnSectionShift)) * (ulong)size, structs);

        for (; (pfn = PfnBits.NextSet(present, pfn - first, end - first) + first) < end; pfn++)
        {
            var i = (int)(pfn - runStart);
            var page = structs.Slice(i * size, size);
            if (!Decide(page, pfn, i + 1 < n ? structs.Slice((i + 1) * size, size) : default, out var reason, out var pages))
                continue;
            var blockEnd = pfn + pages;
            var stop = Math.Min(blockEnd, end);
            for (var p = pfn; p < stop; p++)
                Clear(p - first, dumpable, reason);
            if (blockEnd > end)
            {
                _carryEnd = blockEnd;
                _carryReason = reason;
            }
            pfn = stop - 1;
        }
    }

    // One struct page (and its first tail page, for compound heads) against the rules.
    private bool Decide(ReadOnlySpan<byte> page, ulong pfn, ReadOnlySpan<byte> next, out Reason reason, out ulong pages)
    {
        var r = _rules;
        var level = r.Effective;
        var flags = BinaryPrimitives.ReadUInt64LittleEndian(page[r.FlagsOffset..]);
        var mapcount = r.MapcountOffset >= 0 ? BinaryPrimitives.ReadUInt32LittleEndian(page[r.MapcountOffset..]) : 0;
        var mapping = r.MappingOffset >= 0 ? BinaryPrimitives.ReadUInt64LittleEndian(page[r.MappingOffset..]) : 0;
        var slab = (flags & r.SlabFlagMask) != 0 || PageRules.IsType(mapcount, r.SlabType);

        var order = 0;
        var dtor = -1;
        if ((flags & r.HeadMask) != 0 && !next.IsEmpty)
        {
            if (r.CompoundOrderOffset >= 0)
                order = next[r.CompoundOrderOffset];
            if (r.CompoundDtorOffset >= 0)
                dtor = next[r.CompoundDtorOffset];
            if (order >= 64 || (pfn & ((1UL << order) - 1)) != 0)
                order = 0; // not a plausible head: treat as one page
        }
        pages = 1UL << order;

        if ((level & DumpLevel.Free) != 0 && !slab && PageRules.IsType(mapcount, r.BuddyType))
        {
            var buddyOrder = BinaryPrimitives.ReadUInt64LittleEndian(page[r.PrivateOffset..]);
            pages = buddyOrder < 64 ? 1UL << (int)buddyOrder : 1;
            reason = Reason.Free;
            return true;
        }
        var cache = (flags & r.LruMask) != 0 || ((r.SwapBackedMask == 0 || (flags & r.SwapBackedMask) != 0) && (flags & r.SwapCacheMask) != 0);
        var anon = (mapping & 1) != 0;
        var isPrivate = (flags & r.PrivateMask) != 0;
        if ((level & DumpLevel.Cache) != 0 && cache && !isPrivate && !anon)
        {
            reason = Reason.Cache;
            return true;
        }
        if ((level & DumpLevel.CachePrivate) != 0 && cache && !anon)
        {
            reason = isPrivate ? Reason.CachePrivate : Reason.Cache;
            return true;
        }
        var hugetlb = (r.HugetlbDtor is { } hd && dtor == hd) || PageRules.IsType(mapcount, r.HugetlbType);
        if ((level & DumpLevel.User) != 0 && ((anon && !slab) || hugetlb))
        {
            reason = Reason.User;
            return true;
        }
        if ((flags & r.HwPoisonMask) != 0)
        {
            reason = Reason.HwPoison;
            return true;
        }
        if (!slab && PageRules.IsType(mapcount, r.OfflineType))
        {
            reason = Reason.Offline;
            return true;
        }
        reason = default;
        return false;
    }

    private void Clear(ulong bit, Span<ulong> dumpable, Reason reason)
    {
        ref var word = ref dumpable[(int)(bit >> 6)];
        var mask = 1UL << (int)(bit & 63);
        if ((word & mask) == 0)
            return;
        word &= ~mask;
        switch (reason)
        {
            case Reason.Free: Counts.Free++; break;
            case Reason.Cache: Counts.Cache++; break;
            case Reason.CachePrivate: Counts.CachePrivate++; break;
            case Reason.User: Counts.User++; break;
            case Reason.HwPoison: Counts.HwPoison++; break;
            default: Counts.Offline++; break;
        }
    }

    // Struct pages for holes in the physical map may themselves be unmapped: read page by page
    // and leave what cannot be read zeroed (a zeroed struct page matches no rule, so it is kept).
    private void ReadStructs(ulong vaddr, Span<byte> destination)
    {
        if (_memMap!.TryRead(vaddr, destination))
            return;
        const int Piece = 4096;
        var pos = 0;
        while (pos < destination.Length)
        {
            var n = (int)Math.Min((ulong)(destination.Length - pos), Piece - ((vaddr + (ulong)pos) & (Piece - 1)));
            var part = destination.Slice(pos, n);
            if (!_memMap.TryRead(vaddr + (ulong)pos, part))
                part.Clear();
            pos += n;
        }
    }
}
