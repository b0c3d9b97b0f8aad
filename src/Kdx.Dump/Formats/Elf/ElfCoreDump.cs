// ELF64 cores: a copy of /proc/vmcore, makedumpfile -E output, QEMU dump-guest-memory. Physical
// memory is the PT_LOAD segments by p_paddr; the notes (CPU registers, VMCOREINFO) are PT_NOTE.
using Kdx.Dump.IO;
using Kdx.Dump.Notes;

namespace Kdx.Dump.Formats.Elf;

public sealed class ElfCoreDump : DumpFileBase
{
    private enum RangeKind : byte { File, Excluded, Lost }

    // A disjoint piece of physical memory and where its bytes are.
    private readonly record struct Range(ulong Start, ulong End, RangeKind Kind, long FileOffset);

    private readonly IByteSource _source;
    private readonly Range[] _ranges;
    private readonly ulong[] _starts;
    private readonly List<ElfNote> _notes;
    private readonly List<CpuState> _cpus;
    private readonly string _machine;

    private ElfCoreDump(IByteSource source, Range[] ranges, List<ElfNote> notes, bool incomplete, ushort machine, bool flattened)
    {
        _source = source;
        _ranges = ranges;
        _starts = Array.ConvertAll(ranges, r => r.Start);
        _notes = notes;
        _cpus = CpuState.FromNotes(notes);
        IsIncomplete = incomplete;
        IsFlattened = flattened;
        _machine = ElfConstants.MachineName(machine);
        VmcoreInfo = FindVmcoreInfo(notes);
        var ps = VmcoreInfo?.PageSize ?? 4096;
        PageSize = ps is >= DumpLimits.MinPageSize and <= DumpLimits.MaxPageSize && ulong.IsPow2(ps) ? (int)ps : 4096;
        var end = ranges.Length == 0 ? 0 : ranges[^1].End;
        MaxPfn = (end + (ulong)PageSize - 1) / (ulong)PageSize;
    }

    public override IReadOnlyList<string> Paths => [_source.Name];
    public override DumpFormat Format => DumpFormat.ElfCore;
    public override string FormatDescription => IsFlattened ? "ELF64 core, flattened" : "ELF64 core";
    public override bool IsFlattened { get; }
    public override string Compression => "none";
    public override int? DumpLevel => null;
    public override bool IsIncomplete { get; }
    public override string? Machine => _machine;
    public override VmcoreInfo? VmcoreInfo { get; }
    public override IReadOnlyList<ElfNote> Notes => _notes;
    public override IReadOnlyList<CpuState> Cpus => _cpus;
    public override int PageSize { get; }
    public override ulong MaxPfn { get; }

    /// <summary>Parses the ELF header, program headers and notes. The source is owned by the result.</summary>
    public static ElfCoreDump Open(IByteSource source, bool flattened = false)
    {
        var name = source.Name;
        Span<byte> eh = stackalloc byte[ElfConstants.EhdrSize];
        source.ReadExactly(0, eh, "ELF header");
        if (!ElfConstants.HasMagic(eh))
            throw new DumpFormatException(name, 0, "not an ELF file");
        if (eh[4] != ElfConstants.ElfClass64)
            throw new DumpFormatException(name, 4, eh[4] == 1 ? "32-bit ELF cores are not supported" : $"bad ELF class {eh[4]}");
        if (eh[5] != ElfConstants.ElfData2Lsb)
            throw new DumpFormatException(name, 5, "big-endian ELF cores are not supported");
        var ehdr = new Elf64Ehdr(eh);
        if (ehdr.Type != ElfConstants.EtCore)
            throw new DumpFormatException(name, 16, $"ELF file is {ElfConstants.TypeName(ehdr.Type)}, not a core dump");

        var phnum = (int)ehdr.PhNum;
        if (ehdr.PhNum == ElfConstants.PnXnum)
            phnum = ReadExtendedPhnum(source, ehdr);
        if (phnum > DumpLimits.MaxProgramHeaders)
            throw new DumpFormatException(name, 56, $"{phnum} program headers is more than the limit of {DumpLimits.MaxProgramHeaders}");
        if (ehdr.PhEntSize < ElfConstants.PhdrSize && phnum > 0)
            throw new DumpFormatException(name, 54, $"program header size {ehdr.PhEntSize} is smaller than {ElfConstants.PhdrSize}");
        if (ehdr.PhOff > (ulong)source.Length || (ulong)phnum * ehdr.PhEntSize > (ulong)source.Length - ehdr.PhOff)
            throw new DumpFormatException(name, 32, $"program headers (0x{ehdr.PhOff:x}, {phnum} x {ehdr.PhEntSize}) run past the end of the file");

        var incomplete = (ehdr.Flags & ElfConstants.EfIncomplete) != 0;
        var ranges = new List<Range>();
        var notes = new List<ElfNote>();
        Span<byte> ph = stackalloc byte[ElfConstants.PhdrSize];
        for (var i = 0; i < phnum; i++)
        {
            var at = (long)ehdr.PhOff + (long)i * ehdr.PhEntSize;
            source.ReadExactly(at, ph, "program header");
            var p = new Elf64Phdr(ph);
            if (p.Type == ElfConstants.PtNote)
                notes.AddRange(ReadNotes(source, p, at));
            else if (p.Type == ElfConstants.PtLoad)
                AddLoad(source, p, at, incomplete, ranges);
        }
        return new ElfCoreDump(source, Disjoint(ranges), notes, incomplete, ehdr.Machine, flattened);
    }

    private static int ReadExtendedPhnum(IByteSource source, Elf64Ehdr ehdr)
    {
        if (ehdr.ShOff == 0 || ehdr.ShOff > (ulong)source.Length - ElfConstants.ShdrSize)
            throw new DumpFormatException(source.Name, 40, "e_phnum is PN_XNUM but there is no section header 0 to hold the count");
        Span<byte> sh = stackalloc byte[ElfConstants.ShdrSize];
        source.ReadExactly((long)ehdr.ShOff, sh, "section header 0");
        return (int)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(sh[44..]), int.MaxValue); // sh_info
    }

    private static List<ElfNote> ReadNotes(IByteSource source, Elf64Phdr p, long phdrAt)
    {
        if (p.FileSize > DumpLimits.MaxNoteBytes)
            throw new DumpFormatException(source.Name, phdrAt, $"PT_NOTE of {p.FileSize} bytes is larger than the limit of {DumpLimits.MaxNoteBytes}");
        if (p.Offset > (ulong)source.Length)
            throw new DumpFormatException(source.Name, phdrAt, $"PT_NOTE offset 0x{p.Offset:x} is past the end of the file");
        var blob = source.ReadBlock((long)p.Offset, p.FileSize, DumpLimits.MaxNoteBytes, "PT_NOTE segment");
        return ElfNote.ParseAll(blob, source.Name, (long)p.Offset);
    }

    private static void AddLoad(IByteSource source, Elf64Phdr p, long phdrAt, bool incomplete, List<Range> ranges)
    {
        if (p.FileSize > p.MemSize)
            throw new DumpFormatException(source.Name, phdrAt, $"PT_LOAD has p_filesz 0x{p.FileSize:x} larger than p_memsz 0x{p.MemSize:x}");
        if (p.PAddr > DumpLimits.MaxPhysicalAddress || p.MemSize > DumpLimits.MaxPhysicalAddress - p.PAddr)
            throw new DumpFormatException(source.Name, phdrAt, $"PT_LOAD at 0x{p.PAddr:x} + 0x{p.MemSize:x} goes past the 52-bit physical address space");
        if (p.MemSize == 0)
            return;
        var inFile = p.FileSize;
        if (p.Offset > (ulong)source.Length || p.FileSize > (ulong)source.Length - p.Offset)
        {
            if (!incomplete)
                throw new DumpFormatException(source.Name, phdrAt, $"PT_LOAD data (0x{p.Offset:x} + 0x{p.FileSize:x}) runs past the end of the file (0x{source.Length:x})");
            inFile = p.Offset > (ulong)source.Length ? 0 : (ulong)source.Length - p.Offset;
        }
        if (inFile > 0)
            ranges.Add(new Range(p.PAddr, p.PAddr + inFile, RangeKind.File, (long)p.Offset));
        if (p.FileSize > inFile)
            ranges.Add(new Range(p.PAddr + inFile, p.PAddr + p.FileSize, RangeKind.Lost, -1));
        // makedumpfile -E leaves filtered pages out of the file: p_memsz beyond p_filesz.
        if (p.MemSize > p.FileSize)
            ranges.Add(new Range(p.PAddr + p.FileSize, p.PAddr + p.MemSize, RangeKind.Excluded, -1));
    }

    // Sorted, non-overlapping ranges; where segments overlap (the kernel-text PT_LOAD of
    // /proc/vmcore repeats part of a RAM segment) the earlier-starting, file-backed one wins.
    private static Range[] Disjoint(List<Range> ranges)
    {
        ranges.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Kind.CompareTo(b.Kind));
        var result = new List<Range>(ranges.Count);
        ulong covered = 0;
        foreach (var r in ranges)
        {
            var start = result.Count > 0 ? Math.Max(r.Start, covered) : r.Start;
            if (start >= r.End)
                continue;
            var offset = r.Kind == RangeKind.File ? r.FileOffset + (long)(start - r.Start) : -1;
            result.Add(r with { Start = start, FileOffset = offset });
            covered = r.End;
        }
        return [.. result];
    }

    private int FindRange(ulong paddr)
    {
        var i = Array.BinarySearch(_starts, paddr);
        if (i < 0)
            i = ~i - 1;
        return i >= 0 && paddr < _ranges[i].End ? i : -1;
    }

    public override PageState GetPageState(ulong pfn)
    {
        if (pfn >= MaxPfn)
            return PageState.Hole;
        var start = pfn * (ulong)PageSize;
        var i = FindRange(start);
        if (i < 0)
        {
            // The page may still begin with a hole and have a range later inside it.
            i = ~Array.BinarySearch(_starts, start);
            if (i >= _ranges.Length || _ranges[i].Start >= start + (ulong)PageSize)
                return PageState.Hole;
        }
        return _ranges[i].Kind switch
        {
            RangeKind.File => PageState.Present,
            RangeKind.Excluded => PageState.Excluded,
            _ => PageState.Lost,
        };
    }

    public override PageCounts CountPages()
    {
        ulong present = 0, excluded = 0, lost = 0;
        var ps = (ulong)PageSize;
        ulong nextPfn = 0; // pfns below this were counted already (a page shared by two ranges counts once)
        foreach (var r in _ranges)
        {
            var first = Math.Max(r.Start / ps, nextPfn);
            var end = (r.End + ps - 1) / ps;
            if (end <= first)
                continue;
            var n = end - first;
            switch (r.Kind)
            {
                case RangeKind.File: present += n; break;
                case RangeKind.Excluded: excluded += n; break;
                default: lost += n; break;
            }
            nextPfn = end;
        }
        return new PageCounts(present, null, excluded, MaxPfn - present - excluded - lost, lost);
    }

    internal override void ScanChunk(ulong start, ulong end, PageScanWorker worker)
    {
        var ps = (ulong)PageSize;
        long fileFrom = long.MaxValue, fileTo = 0;
        for (var pfn = start; pfn < end; pfn++)
        {
            switch (GetPageState(pfn))
            {
                case PageState.Present:
                    // Copy the page's file-backed bytes; a page at the edge of a segment may be only
                    // partly in the file (the first megabyte's ROM holes, for example).
                    var page = worker.Page.AsSpan();
                    var stored = 0;
                    var pageStart = pfn * ps;
                    for (var at = pageStart; at < pageStart + ps;)
                    {
                        var i = FindRange(at);
                        if (i < 0)
                        {
                            var j = ~Array.BinarySearch(_starts, at); // at is in no range: the next one starts after it
                            at = j < _ranges.Length ? Math.Min(_ranges[j].Start, pageStart + ps) : pageStart + ps;
                            continue;
                        }
                        var r = _ranges[i];
                        var n = (int)(Math.Min(r.End, pageStart + ps) - at);
                        if (r.Kind == RangeKind.File)
                        {
                            var offset = r.FileOffset + (long)(at - r.Start);
                            var into = page.Slice((int)(at - pageStart), n);
                            if (_source.TryGetSpan(offset, n, out var bytes))
                                bytes.CopyTo(into);
                            else
                                _source.ReadExactly(offset, into, "PT_LOAD data");
                            stored += n;
                            fileFrom = Math.Min(fileFrom, offset);
                            fileTo = Math.Max(fileTo, offset + n);
                        }
                        at += (ulong)n;
                    }
                    worker.Read(stored);
                    break;
                case PageState.Excluded:
                    worker.Excluded++;
                    break;
                case PageState.Lost:
                    worker.Lost++;
                    break;
                default:
                    worker.Holes++;
                    break;
            }
        }
        if (fileTo > fileFrom)
            _source.Evict(fileFrom, fileTo - fileFrom);
    }

    protected override int ReadPiece(ulong paddr, Span<byte> destination)
    {
        var i = FindRange(paddr);
        if (i < 0)
            throw new PageNotInDumpException(paddr, PageAbsence.Hole);
        var r = _ranges[i];
        if (r.Kind != RangeKind.File)
            throw new PageNotInDumpException(paddr, r.Kind == RangeKind.Excluded ? PageAbsence.Excluded : PageAbsence.Lost);
        var n = (int)Math.Min((ulong)destination.Length, r.End - paddr);
        _source.ReadExactly(r.FileOffset + (long)(paddr - r.Start), destination[..n], "PT_LOAD data");
        return n;
    }

    public override void Dispose() => _source.Dispose();
}
