// A makedumpfile --split set: several kdump-compressed files, each holding the pages of its own
// [start_pfn, end_pfn). Together they cover 0..max_mapnr; reads go to the part owning the pfn.
using Kdx.Dump.Notes;

namespace Kdx.Dump.Formats.Kdump;

public sealed class SplitKdumpDump : DumpFileBase
{
    private readonly KdumpCompressedDump[] _parts; // sorted by StartPfn, contiguous

    private SplitKdumpDump(KdumpCompressedDump[] parts) => _parts = parts;

    /// <summary>Checks that the parts belong together and cover every pfn; takes ownership of them.</summary>
    public static SplitKdumpDump Create(IReadOnlyList<KdumpCompressedDump> parts)
    {
        if (parts.Count == 0)
            throw new ArgumentException("a split set needs at least one part", nameof(parts));
        var sorted = parts.OrderBy(p => p.StartPfn).ToArray();
        var first = sorted[0];
        ulong expected = 0;
        foreach (var p in sorted)
        {
            var name = p.Paths[0];
            if (!p.IsSplit)
                throw new DumpFormatException(name, 0, "several files were given but this one is not part of a split dump (sub-header split = 0)");
            if (p.PageSize != first.PageSize || p.MaxPfn != first.MaxPfn)
                throw new DumpFormatException(name, 0, $"does not belong with {first.Paths[0]} (block size or max_mapnr differ)");
            if (p.StartPfn != expected)
                throw new DumpFormatException(name, 0, p.StartPfn > expected
                    ? $"split set is missing the part for pfns 0x{expected:x}-0x{p.StartPfn:x}"
                    : $"split part pfn range 0x{p.StartPfn:x}-0x{p.EndPfn:x} overlaps another part");
            expected = p.EndPfn;
        }
        if (expected != first.MaxPfn)
            throw new DumpFormatException(sorted[^1].Paths[0], 0, $"split set is missing the part for pfns 0x{expected:x}-0x{first.MaxPfn:x}");
        return new SplitKdumpDump(sorted);
    }

    private KdumpCompressedDump PartFor(ulong pfn)
    {
        int lo = 0, hi = _parts.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_parts[mid].StartPfn <= pfn)
                lo = mid;
            else
                hi = mid - 1;
        }
        return _parts[lo];
    }

    public IReadOnlyList<KdumpCompressedDump> Parts => _parts;
    public override IReadOnlyList<string> Paths => _parts.Select(p => p.Paths[0]).ToArray();
    public override DumpFormat Format => DumpFormat.KdumpCompressed;
    public override string FormatDescription => $"kdump-compressed v{_parts[0].HeaderVersion}, split into {_parts.Length} files" + (IsFlattened ? ", flattened" : "");
    public override bool IsFlattened => _parts.Any(p => p.IsFlattened);
    public override string Compression => string.Join("+", _parts.Select(p => p.Compression).Distinct());
    public override int? DumpLevel => _parts[0].DumpLevel;
    public override bool IsIncomplete => _parts.Any(p => p.IsIncomplete);
    public override string? Machine => _parts[0].Machine;
    public override VmcoreInfo? VmcoreInfo => _parts[0].VmcoreInfo;
    public override IReadOnlyList<ElfNote> Notes => _parts[0].Notes;
    public override IReadOnlyList<CpuState> Cpus => _parts[0].Cpus;
    public override int PageSize => _parts[0].PageSize;
    public override ulong MaxPfn => _parts[0].MaxPfn;

    public override PageState GetPageState(ulong pfn) => PartFor(pfn).GetPageState(pfn);

    public override PageCounts CountPages()
    {
        ulong present = 0, zero = 0, excluded = 0, hole = 0, lost = 0;
        foreach (var p in _parts)
        {
            var c = p.CountOwnPages();
            present += c.Present;
            zero += c.Zero ?? 0;
            excluded += c.Excluded;
            hole += c.Hole;
            lost += c.Lost;
        }
        return new PageCounts(present, zero, excluded, hole, lost);
    }

    internal override IEnumerable<(DumpFileBase File, ulong Start, ulong End)> ScanRanges() =>
        _parts.Select(p => ((DumpFileBase)p, p.StartPfn, p.EndPfn));

    internal override void ScanChunk(ulong start, ulong end, PageScanWorker worker) => PartFor(start).ScanChunk(start, end, worker);

    protected override int ReadPiece(ulong paddr, Span<byte> destination) =>
        PartFor(paddr / (ulong)PageSize).ReadOwnPiece(paddr, destination);

    public override void Dispose()
    {
        foreach (var p in _parts)
            p.Dispose();
    }
}
