// kdump-compressed files ("KDUMP   ", makedumpfile -c/-l/-p/-z and QEMU dump-guest-memory -z/-l/-s):
// a 2nd bitmap says which pfns are dumpable, and the n-th dumpable pfn of the file's pfn range
// has the n-th page_desc, which points at its (usually compressed) data. One file of a --split
// set is the same format restricted to its [start_pfn, end_pfn).
using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using Kdx.Dump.Compression;
using Kdx.Dump.IO;
using Kdx.Dump.Notes;

namespace Kdx.Dump.Formats.Kdump;

public sealed class KdumpCompressedDump : DumpFileBase
{
    private const int RankBlockBits = 4096; // one cumulative count per 512 bytes of bitmap

    private readonly IByteSource _source;
    private readonly DiskDumpHeader _header;
    private readonly KdumpSubHeader _sub;
    private readonly byte[] _bitmap1;
    private readonly byte[] _bitmap2;
    private readonly ulong[] _rank; // dumpable pfns before each rank block
    private readonly long _descOffset;
    private readonly ulong _descBase; // rank of StartPfn: the first descriptor's dumpable index
    private readonly long _zeroPageOffset;
    private readonly PageCache _cache;
    private readonly PageCache.PageLoader _loader;
    private readonly List<ElfNote> _notes;
    private readonly List<CpuState> _cpus;

    private KdumpCompressedDump(IByteSource source, DiskDumpHeader header, KdumpSubHeader sub, byte[] bitmap1, byte[] bitmap2,
        ulong maxMapnr, ulong startPfn, ulong endPfn, long descOffset, List<ElfNote> notes, VmcoreInfo? vmcoreInfo, bool flattened, bool truncated)
    {
        _source = source;
        _header = header;
        _sub = sub;
        _bitmap1 = bitmap1;
        _bitmap2 = bitmap2;
        MaxPfn = maxMapnr;
        StartPfn = startPfn;
        EndPfn = endPfn;
        _descOffset = descOffset;
        _notes = notes;
        _cpus = CpuState.FromNotes(notes);
        VmcoreInfo = vmcoreInfo;
        IsFlattened = flattened;
        IsIncomplete = (header.Status & (uint)KdumpFlags.Incomplete) != 0 || truncated;
        _rank = BuildRank(bitmap2, maxMapnr);
        _descBase = Rank(startPfn);
        DescriptorCount = Rank(endPfn) - _descBase;
        // The shared zero page is written first, right after the descriptor array.
        _zeroPageOffset = descOffset + (long)DescriptorCount * PageDesc.Size;
        _cache = new PageCache(header.BlockSize);
        _loader = LoadPage;
    }

    public override IReadOnlyList<string> Paths => [_source.Name];
    public override DumpFormat Format => DumpFormat.KdumpCompressed;

    public override string FormatDescription =>
        $"kdump-compressed v{_header.HeaderVersion}"
        + (IsSplit ? $", split part (pfn 0x{StartPfn:x}-0x{EndPfn:x})" : "")
        + (IsFlattened ? ", flattened" : "");

    public override bool IsFlattened { get; }
    public override string Compression => PageCompression.Describe((KdumpFlags)_header.Status & PageCompression.MethodMask);
    public override int? DumpLevel => _header.HeaderVersion >= 1 ? _sub.DumpLevel : null;
    public override bool IsIncomplete { get; }
    public override string? Machine => _header.Machine.Length > 0 ? _header.Machine : null;
    public override VmcoreInfo? VmcoreInfo { get; }
    public override IReadOnlyList<ElfNote> Notes => _notes;
    public override IReadOnlyList<CpuState> Cpus => _cpus;
    public override int PageSize => _header.BlockSize;
    public override ulong MaxPfn { get; }

    public int HeaderVersion => _header.HeaderVersion;
    public bool IsSplit => _header.HeaderVersion >= 2 && _sub.Split != 0;
    public ulong StartPfn { get; }
    public ulong EndPfn { get; }
    public ulong DescriptorCount { get; }
    public ulong PhysBase => _sub.PhysBase;
    public int NrCpus => _header.NrCpus;
    public string Release => _header.Release;
    public string NodeName => _header.NodeName;

    /// <summary>Parses header, sub-header, notes and bitmaps. The source is owned by the result.</summary>
    public static KdumpCompressedDump Open(IByteSource source, bool flattened = false, bool truncated = false)
    {
        var name = source.Name;
        var hb = new byte[DiskDumpHeader.Size];
        source.ReadExactly(0, hb, "kdump disk_dump_header");
        if (!hb.AsSpan(0, 8).SequenceEqual(DiskDumpHeader.Signature))
            throw new DumpFormatException(name, 0, "not a kdump-compressed file (no \"KDUMP   \" signature)");
        var h = new DiskDumpHeader(hb);
        if (h.HeaderVersion is < 1 or > 64)
            throw new DumpFormatException(name, 8, $"kdump header_version {h.HeaderVersion} is not supported (1-6 are)");
        if (h.BlockSize is < DumpLimits.MinPageSize or > DumpLimits.MaxPageSize || !int.IsPow2(h.BlockSize))
            throw new DumpFormatException(name, 428, $"kdump block_size {h.BlockSize} is not a power of two between {DumpLimits.MinPageSize} and {DumpLimits.MaxPageSize}");
        if (h.SubHdrSize is < 0 or > DumpLimits.MaxSubHeaderBlocks)
            throw new DumpFormatException(name, 432, $"kdump sub_hdr_size {h.SubHdrSize} blocks is out of range");
        long bs = h.BlockSize;

        // kdump_sub_header: fields past the header version read as zero.
        var subBytes = new byte[KdumpSubHeader.Size];
        if (h.SubHdrSize > 0)
        {
            var want = (int)Math.Min(KdumpSubHeader.Size, h.SubHdrSize * bs);
            source.ReadExactly(bs, subBytes.AsSpan(0, want), "kdump_sub_header");
        }
        var valid = h.HeaderVersion switch { 1 => 12, 2 => 32, 3 => 48, 4 => 64, 5 => 80, _ => KdumpSubHeader.Size };
        subBytes.AsSpan(valid).Clear();
        var sub = new KdumpSubHeader(subBytes);

        ulong maxMapnr = h.HeaderVersion >= 6 && sub.MaxMapnr64 != 0 ? sub.MaxMapnr64 : h.MaxMapnr;
        var bitmapOffset = (1 + h.SubHdrSize) * bs;
        var bitmapBytes = (long)h.BitmapBlocks * bs;
        if (bitmapBytes > DumpLimits.MaxBitmapBytes || bitmapBytes % 2 != 0)
            throw new DumpFormatException(name, 436, $"kdump bitmap_blocks {h.BitmapBlocks} gives a bitmap of {bitmapBytes} bytes, over the limit or odd");
        var half = bitmapBytes / 2;
        if (maxMapnr > (ulong)half * 8)
            throw new DumpFormatException(name, h.HeaderVersion >= 6 ? bs + 96 : 440, $"kdump max_mapnr 0x{maxMapnr:x} is more than the bitmap holds (0x{half * 8:x} pfns)");
        if (bitmapOffset > source.Length || bitmapBytes > source.Length - bitmapOffset)
            throw new DumpFormatException(name, bitmapOffset, $"kdump bitmaps ({bitmapBytes} bytes) run past the end of the file (0x{source.Length:x})");
        var bitmap1 = new byte[half];
        var bitmap2 = new byte[half];
        source.ReadExactly(bitmapOffset, bitmap1, "kdump 1st bitmap");
        source.ReadExactly(bitmapOffset + half, bitmap2, "kdump 2nd bitmap");

        ulong start = 0, end = maxMapnr;
        if (h.HeaderVersion >= 2 && sub.Split != 0)
        {
            start = h.HeaderVersion >= 6 ? sub.StartPfn64 : sub.StartPfn;
            end = h.HeaderVersion >= 6 ? sub.EndPfn64 : sub.EndPfn;
            if (start > end || end > maxMapnr)
                throw new DumpFormatException(name, bs + (h.HeaderVersion >= 6 ? 80 : 16), $"kdump split pfn range 0x{start:x}-0x{end:x} is outside 0..0x{maxMapnr:x}");
        }

        var notes = new List<ElfNote>();
        if (h.HeaderVersion >= 4 && sub.SizeNote > 0)
        {
            var blob = ReadSubBlock(source, sub.OffsetNote, sub.SizeNote, DumpLimits.MaxNoteBytes, "kdump note area", bs + 48);
            notes = ElfNote.ParseAll(blob, name, sub.OffsetNote);
        }
        var vmcoreInfo = FindVmcoreInfo(notes);
        if (h.HeaderVersion >= 3 && sub.SizeVmcoreinfo > 0)
            vmcoreInfo = VmcoreInfo.Parse(ReadSubBlock(source, sub.OffsetVmcoreinfo, sub.SizeVmcoreinfo, VmcoreInfo.MaxLength, "kdump VMCOREINFO", bs + 32));

        var descOffset = (1 + h.SubHdrSize + (long)h.BitmapBlocks) * bs;
        var dump = new KdumpCompressedDump(source, h, sub, bitmap1, bitmap2, maxMapnr, start, end, descOffset, notes, vmcoreInfo, flattened, truncated);
        if (!dump.IsIncomplete && (descOffset > source.Length || dump.DescriptorCount > (ulong)(source.Length - descOffset) / PageDesc.Size))
            throw new DumpFormatException(name, descOffset, $"kdump page_desc array ({dump.DescriptorCount} entries) runs past the end of the file (0x{source.Length:x})");
        return dump;
    }

    private static byte[] ReadSubBlock(IByteSource source, long offset, ulong size, long limit, string what, long fieldOffset)
    {
        if (offset <= 0 || offset > source.Length)
            throw new DumpFormatException(source.Name, fieldOffset, $"{what} offset 0x{offset:x} is outside the file");
        return source.ReadBlock(offset, size, limit, what);
    }

    private static ulong[] BuildRank(byte[] bitmap, ulong maxMapnr)
    {
        var blocks = (maxMapnr + RankBlockBits - 1) / RankBlockBits;
        var rank = new ulong[blocks + 1];
        ulong total = 0;
        for (ulong b = 0; b < blocks; b++)
        {
            rank[b] = total;
            total += CountBits(bitmap, b * RankBlockBits, Math.Min((b + 1) * RankBlockBits, maxMapnr));
        }
        rank[blocks] = total;
        return rank;
    }

    // Set bits in [from, to) of a LSB-first bitmap.
    private static ulong CountBits(byte[] bitmap, ulong from, ulong to)
    {
        ulong n = 0;
        var pfn = from;
        while (pfn < to && (pfn & 63) != 0)
        {
            n += (ulong)((bitmap[pfn >> 3] >> (int)(pfn & 7)) & 1);
            pfn++;
        }
        while (pfn + 64 <= to)
        {
            n += (ulong)BitOperations.PopCount(BinaryPrimitives.ReadUInt64LittleEndian(bitmap.AsSpan((int)(pfn >> 3), 8)));
            pfn += 64;
        }
        while (pfn < to)
        {
            n += (ulong)((bitmap[pfn >> 3] >> (int)(pfn & 7)) & 1);
            pfn++;
        }
        return n;
    }

    /// <summary>Dumpable pfns below <paramref name="pfn"/>.</summary>
    private ulong Rank(ulong pfn)
    {
        var block = pfn / RankBlockBits;
        return _rank[block] + CountBits(_bitmap2, block * RankBlockBits, pfn);
    }

    private static bool Bit(byte[] bitmap, ulong pfn) => ((bitmap[pfn >> 3] >> (int)(pfn & 7)) & 1) != 0;

    public override PageState GetPageState(ulong pfn) => Classify(pfn, out _);

    private PageState Classify(ulong pfn, out PageDesc desc)
    {
        desc = default;
        if (pfn >= MaxPfn)
            return PageState.Hole;
        if (!Bit(_bitmap2, pfn))
            return Bit(_bitmap1, pfn) ? PageState.Excluded : PageState.Hole;
        if (pfn < StartPfn || pfn >= EndPfn)
            return PageState.Hole; // in another file of the split set
        return Describe(pfn, Rank(pfn) - _descBase, out desc);
    }

    // State of dumpable pfn whose descriptor is the index-th of this file.
    private PageState Describe(ulong pfn, ulong index, out PageDesc desc)
    {
        desc = default;
        var at = _descOffset + (long)index * PageDesc.Size;
        if (at > _source.Length - PageDesc.Size)
        {
            if (IsIncomplete)
                return PageState.Lost;
            throw new DumpFormatException(_source.Name, at, $"page_desc for pfn 0x{pfn:x} is past the end of the file");
        }
        Span<byte> d = stackalloc byte[PageDesc.Size];
        _source.ReadExactly(at, d, "page_desc");
        desc = new PageDesc(d);
        if (desc.Offset == 0 && IsIncomplete)
            return PageState.Lost; // never written: the dump was cut short
        if (desc.Offset <= 0 || desc.DataSize == 0 || desc.DataSize > (uint)PageSize)
            throw new DumpFormatException(_source.Name, at, $"page_desc for pfn 0x{pfn:x} is corrupt (offset 0x{desc.Offset:x}, size {desc.DataSize})");
        if (desc.Offset > _source.Length - desc.DataSize)
        {
            if (IsIncomplete)
                return PageState.Lost;
            throw new DumpFormatException(_source.Name, at, $"data of pfn 0x{pfn:x} (0x{desc.Offset:x} + {desc.DataSize}) is past the end of the file");
        }
        if (desc.Offset == _zeroPageOffset && desc.Flags == 0 && desc.DataSize == (uint)PageSize)
            return PageState.Zero;
        return PageState.Present;
    }

    protected override int ReadPiece(ulong paddr, Span<byte> destination)
    {
        var ps = (ulong)PageSize;
        var pfn = paddr / ps;
        var inPage = (int)(paddr % ps);
        var n = (int)Math.Min((ulong)destination.Length, ps - (ulong)inPage);
        var state = Classify(pfn, out _);
        switch (state)
        {
            case PageState.Present:
                _cache.Read(pfn, inPage, destination[..n], _loader);
                break;
            case PageState.Zero:
                destination[..n].Clear();
                break;
            default:
                throw new PageNotInDumpException(paddr, state.ToAbsence());
        }
        return n;
    }

    private void LoadPage(ulong pfn, Span<byte> page)
    {
        var state = Classify(pfn, out var desc);
        if (state != PageState.Present)
            throw new PageNotInDumpException(pfn * (ulong)PageSize, state.ToAbsence());
        var buffer = ArrayPool<byte>.Shared.Rent((int)desc.DataSize);
        try
        {
            var data = buffer.AsSpan(0, (int)desc.DataSize);
            _source.ReadExactly(desc.Offset, data, "page data");
            PageCompression.DecompressPage((KdumpFlags)desc.Flags, data, page, _source.Name, desc.Offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal override IEnumerable<(DumpFileBase File, ulong Start, ulong End)> ScanRanges() => [(this, StartPfn, EndPfn)];

    internal override void ScanChunk(ulong start, ulong end, PageScanWorker worker)
    {
        var index = Rank(start) - _descBase;
        var firstDesc = _descOffset + (long)index * PageDesc.Size;
        long dataFrom = long.MaxValue, dataTo = 0;
        for (var pfn = start; pfn < end; pfn++)
        {
            if (!Bit(_bitmap2, pfn))
            {
                if (Bit(_bitmap1, pfn))
                    worker.Excluded++;
                else
                    worker.Holes++;
                continue;
            }
            try
            {
                switch (Describe(pfn, index++, out var desc))
                {
                    case PageState.Zero:
                        worker.ZeroPages++;
                        break;
                    case PageState.Present:
                        var size = (int)desc.DataSize;
                        if (!_source.TryGetSpan(desc.Offset, size, out var data))
                        {
                            _source.ReadExactly(desc.Offset, worker.Stored.AsSpan(0, size), "page data");
                            data = worker.Stored.AsSpan(0, size);
                        }
                        PageCompression.DecompressPage((KdumpFlags)desc.Flags, data, worker.Page, _source.Name, desc.Offset);
                        worker.Read(size);
                        dataFrom = Math.Min(dataFrom, desc.Offset);
                        dataTo = Math.Max(dataTo, desc.Offset + size);
                        break;
                    default:
                        worker.Lost++;
                        break;
                }
            }
            catch (DumpFormatException e)
            {
                worker.Damaged(pfn, e);
            }
        }
        // makedumpfile writes page data in pfn order, so this chunk's data and descriptors are
        // read for the last time.
        var lastDesc = _descOffset + (long)index * PageDesc.Size;
        _source.Evict(firstDesc, lastDesc - firstDesc);
        if (dataTo > dataFrom)
            _source.Evict(dataFrom, dataTo - dataFrom);
    }

    public override PageCounts CountPages()
    {
        var own = CountOwnPages();
        return own with { Hole = own.Hole + MaxPfn - (EndPfn - StartPfn) };
    }

    /// <summary>Counts over this file's pfn range only (the parts of a split set add up).</summary>
    internal PageCounts CountOwnPages()
    {
        ulong present = 0, zero = 0, excluded = 0, hole = 0, lost = 0;
        ulong index = 0; // descriptors are in pfn order, so walk them alongside the bitmap
        for (var pfn = StartPfn; pfn < EndPfn; pfn++)
        {
            if (!Bit(_bitmap2, pfn))
            {
                if (Bit(_bitmap1, pfn))
                    excluded++;
                else
                    hole++;
                continue;
            }
            switch (Describe(pfn, index++, out _))
            {
                case PageState.Present: present++; break;
                case PageState.Zero: zero++; break;
                default: lost++; break;
            }
        }
        return new PageCounts(present, zero, excluded, hole, lost);
    }

    internal int ReadOwnPiece(ulong paddr, Span<byte> destination) => ReadPiece(paddr, destination);

    public override void Dispose() => _source.Dispose();
}
