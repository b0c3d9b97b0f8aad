// The capture input: an ELF64 core such as /proc/vmcore, or any other dump kdx reads (a
// kdump-compressed file, flattened or split, to filter again or compress differently). For an ELF
// core it keeps what a writer needs verbatim — the PT_LOAD map of physical memory, the raw PT_NOTE
// bytes, VMCOREINFO — and reads whole pages, zero-filling the part of a page that no segment covers
// (makedumpfile does the same). Another dump's RAM is its non-hole pages; the pages it left out
// stay out. The file is read through a few mapped windows (CaptureFileSource), so the resident
// set does not grow with the dump.
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Dump.IO;

namespace Kdx.Capture;

/// <summary>One PT_LOAD: physical range [Start, Start + MemSize) whose first FileSize bytes are at FileOffset.</summary>
public readonly record struct LoadSegment(ulong Start, ulong MemSize, ulong FileSize, long FileOffset, ulong VirtualAddress)
{
    public ulong End => Start + MemSize;
}

public sealed class VmcoreSource : IDisposable
{
    private const int EhdrSize = 64, PhdrSize = 56;
    private const uint PtLoad = 1, PtNote = 4;
    private const ushort EtCore = 4, EmX86_64 = 62;

    private readonly IByteSource? _source;   // the ELF core's bytes; null when pages come from Dump
    private readonly LoadSegment[] _loads;   // sorted by Start
    private readonly ulong[] _starts;
    private readonly Lazy<(MemMap? Map, string? Problem)> _memMap;

    private VmcoreSource(IByteSource? source, LoadSegment[] loads, byte[] notes, VmcoreInfo info, IDumpFile dump)
    {
        _source = source;
        _loads = loads;
        _starts = Array.ConvertAll(loads, l => l.Start);
        NoteBytes = notes;
        _memMap = new(OpenMemMap);
        VmcoreInfo = info;
        Dump = dump;
        PageSize = dump.PageSize;
        ulong maxEnd = 0;
        foreach (var l in loads)
            maxEnd = Math.Max(maxEnd, l.End);
        // makedumpfile's max_mapnr before the mem_map cap (see CapToMemMap): the end of the highest
        // PT_LOAD, a partial last page counted
        MaxMapnr = source is null ? dump.MaxPfn : (maxEnd + (ulong)PageSize - 1) / (ulong)PageSize;
    }

    public string Name => Dump.Paths[0];
    /// <summary>True when the input is an ELF core (/proc/vmcore); false for another dump read again.</summary>
    public bool IsElfCore => _source is not null;
    public int PageSize { get; }
    public ulong MaxMapnr { get; private set; }
    public IReadOnlyList<LoadSegment> Loads => _loads;
    /// <summary>The PT_NOTE segments' bytes, concatenated, as a kdump sub-header keeps them.</summary>
    public byte[] NoteBytes { get; }
    public VmcoreInfo VmcoreInfo { get; }
    /// <summary>Set when the kernel refused to map /proc/vmcore and it was read with read() instead (slower, same bytes).</summary>
    public string? MappingFailure => (_source as CaptureFileSource)?.MappingFailure;
    /// <summary>The same file opened as a dump, for address translation and the kernel log.</summary>
    public IDumpFile Dump { get; }

    /// <summary>Opens an ELF core, or any dump kdx reads (several paths: a split set).</summary>
    public static VmcoreSource Open(params string[] paths)
    {
        if (paths.Length == 0)
            throw new ArgumentException("no input given", nameof(paths));
        var sources = new List<IByteSource>();
        IDumpFile dump;
        try
        {
            foreach (var p in paths)
                sources.Add(new CaptureFileSource(p));
            dump = DumpFile.Open(sources);
        }
        catch
        {
            foreach (var s in sources)
                s.Dispose();
            throw;
        }
        try
        {
            if (dump.Format == DumpFormat.ElfCore && !dump.IsFlattened && sources.Count == 1)
            {
                var core = Parse(sources[0], dump);
                core.CapToMemMap();
                return core;
            }
            var info = dump.VmcoreInfo ?? throw new DumpFormatException(dump.Paths[0], 0, "the dump has no VMCOREINFO: page filtering and the kdump header need it");
            return new VmcoreSource(null, [], NoteArea(dump.Notes), info, dump);
        }
        catch
        {
            dump.Dispose();
            throw;
        }
    }

    // Like makedumpfile, max_mapnr stops at the end of the highest memory section that has a
    // mem_map when the core goes on beyond it: memory the kernel did not use (mem=), or a segment
    // that is not RAM at all (QEMU's 256 KiB BIOS ROM just below 4 GiB). Without a usable mem_map
    // (VMCOREINFO lacks the keys) the PT_LOADs decide alone, as they do for makedumpfile.
    private void CapToMemMap()
    {
        if (MemMap?.EndOfMappedSections(MaxMapnr) is { } end)
            MaxMapnr = end;
    }

    /// <summary>
    /// The crashed kernel's struct pages (opened once, on first use: max_mapnr and the page
    /// classifier share it), or null with the reason in <see cref="MemMapProblem"/>.
    /// </summary>
    public MemMap? MemMap => _memMap.Value.Map;

    /// <summary>Why <see cref="MemMap"/> is null (the VMCOREINFO keys missing, or unreadable kernel memory).</summary>
    public string? MemMapProblem => _memMap.Value.Problem;

    private (MemMap? Map, string? Problem) OpenMemMap()
    {
        if (VmcoreInfo.Size("page") is not { } size || size is 0 or > 4096)
            return (null, "cannot find mem_map: VMCOREINFO lacks a usable SIZE(page)");
        var map = MemMap.Open(this, (int)size, out var problem);
        return (map, problem);
    }

    // The notes as one ELF note area (n_namesz, n_descsz, n_type, name, desc; 4-byte aligned).
    private static byte[] NoteArea(IReadOnlyList<Kdx.Dump.Notes.ElfNote> notes)
    {
        using var area = new MemoryStream();
        Span<byte> head = stackalloc byte[12];
        Span<byte> pad = stackalloc byte[4];
        foreach (var n in notes)
        {
            var name = System.Text.Encoding.ASCII.GetBytes(n.Name + "\0");
            BinaryPrimitives.WriteUInt32LittleEndian(head, (uint)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)n.Descriptor.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(head[8..], n.Type);
            area.Write(head);
            area.Write(name);
            area.Write(pad[..((4 - name.Length % 4) % 4)]);
            area.Write(n.Descriptor);
            area.Write(pad[..((4 - n.Descriptor.Length % 4) % 4)]);
        }
        return area.ToArray();
    }

    private static VmcoreSource Parse(IByteSource source, IDumpFile dump)
    {
        var name = source.Name;
        Span<byte> eh = stackalloc byte[EhdrSize];
        source.ReadExactly(0, eh, "ELF header");
        if (eh[4] != 2 || eh[5] != 1)
            throw new DumpFormatException(name, 4, "capture needs a little-endian ELF64 core");
        if (BinaryPrimitives.ReadUInt16LittleEndian(eh[16..]) != EtCore)
            throw new DumpFormatException(name, 16, "not an ELF core (e_type is not ET_CORE)");
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(eh[18..]);
        if (machine != EmX86_64)
            throw new DumpFormatException(name, 18, $"capture supports x86_64 cores only (e_machine {machine})");
        var phoff = BinaryPrimitives.ReadInt64LittleEndian(eh[32..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(eh[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(eh[56..]);
        if (phentsize != PhdrSize || phnum == 0)
            throw new DumpFormatException(name, 54, $"unusable program header table (e_phentsize {phentsize}, e_phnum {phnum})");
        var ph = source.ReadBlock(phoff, (ulong)(phnum * PhdrSize), DumpLimits.MaxProgramHeaders * PhdrSize, "program headers");
        var loads = new List<LoadSegment>();
        using var notes = new MemoryStream();
        for (var i = 0; i < phnum; i++)
        {
            var p = ph.AsSpan(i * PhdrSize, PhdrSize);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(p);
            var offset = BinaryPrimitives.ReadInt64LittleEndian(p[8..]);
            var vaddr = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
            var paddr = BinaryPrimitives.ReadUInt64LittleEndian(p[24..]);
            var filesz = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
            var memsz = BinaryPrimitives.ReadUInt64LittleEndian(p[40..]);
            if (type == PtNote)
                notes.Write(source.ReadBlock(offset, filesz, DumpLimits.MaxNoteBytes, "PT_NOTE"));
            else if (type == PtLoad && memsz > 0)
            {
                if (offset < 0 || filesz > memsz || (ulong)offset > (ulong)source.Length || filesz > (ulong)source.Length - (ulong)offset)
                    throw new DumpFormatException(name, phoff + i * PhdrSize, $"PT_LOAD at 0x{paddr:x} (offset 0x{offset:x}, size 0x{filesz:x}) runs past the end of the file");
                loads.Add(new LoadSegment(paddr, memsz, filesz, offset, vaddr));
            }
        }
        if (loads.Count == 0)
            throw new DumpFormatException(name, phoff, "the core has no PT_LOAD segments");
        loads.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        if (source is CaptureFileSource file)
            file.MapOnly(loads.Select(l => (l.FileOffset, l.FileOffset + (long)l.FileSize)));
        var info = dump.VmcoreInfo ?? throw new DumpFormatException(name, 0, "the core has no VMCOREINFO note: page filtering and the kdump header need it");
        return new VmcoreSource(source, [.. loads], notes.ToArray(), info, dump);
    }

    /// <summary>
    /// Sets, in <paramref name="bitmap"/> (bit i = pfn first + i), the pfns of the PT_LOADs: the 1st
    /// bitmap. Like makedumpfile, a segment's pfns run from its start's pfn to its end's pfn,
    /// so a page the segment covers only in part at its end is a hole (0x9f below 640 KiB).
    /// </summary>
    public void MarkPresent(ulong first, ulong count, Span<ulong> bitmap)
    {
        if (_source is null)
        {
            var end = Math.Min(first + count, MaxMapnr);
            for (var pfn = first; pfn < end; pfn++)
                if (Dump.GetPageState(pfn) != PageState.Hole)
                    bitmap[(int)((pfn - first) >> 6)] |= 1UL << (int)((pfn - first) & 63);
            return;
        }
        var ps = (ulong)PageSize;
        foreach (var l in _loads)
        {
            var s = Math.Max(l.Start / ps, first);
            var e = Math.Min(l.End / ps, Math.Min(first + count, MaxMapnr));
            if (s < e)
                PfnBits.SetRange(bitmap, s - first, e - first);
        }
    }

    /// <summary>
    /// Clears, in <paramref name="bitmap"/>, the pfns whose contents the input does not have: pages
    /// another dump left out (excluded, lost). Every RAM page of an ELF core is readable.
    /// </summary>
    public void ClearUnreadable(ulong first, ulong count, Span<ulong> bitmap)
    {
        if (_source is not null)
            return;
        var end = Math.Min(first + count, MaxMapnr);
        for (var pfn = first; pfn < end; pfn++)
        {
            ref var word = ref bitmap[(int)((pfn - first) >> 6)];
            var mask = 1UL << (int)((pfn - first) & 63);
            if ((word & mask) != 0 && !Dump.GetPageState(pfn).IsReadable())
                word &= ~mask;
        }
    }

    /// <summary>
    /// Reads <paramref name="count"/> consecutive pages from <paramref name="pfn"/> on: one read when
    /// a segment holds them all in the file (the common case: a run of kept pages), else page by page.
    /// </summary>
    public void ReadPages(ulong pfn, int count, Span<byte> pages)
    {
        var ps = PageSize;
        if (count > 1 && FileOffsetOf(pfn, count) is { } offset)
        {
            _source!.ReadExactly(offset, pages[..(count * ps)], "PT_LOAD data");
            return;
        }
        for (var k = 0; k < count; k++)
            ReadPage(pfn + (ulong)k, pages.Slice(k * ps, ps));
    }

    /// <summary>
    /// A view of <paramref name="count"/> consecutive pages straight from a mapped /proc/vmcore, when
    /// one segment and one mapped window hold them (no copy); pass <paramref name="pin"/> to
    /// <see cref="Unpin"/> when done. False otherwise: read them with <see cref="ReadPages"/>.
    /// </summary>
    public bool TryPinPages(ulong pfn, int count, out ReadOnlySpan<byte> pages, out object? pin)
    {
        pages = default;
        pin = null;
        return _source is CaptureFileSource { IsMapped: true } file && FileOffsetOf(pfn, count) is { } offset
            && file.TryPin(offset, count * PageSize, out pages, out pin);
    }

    public void Unpin(object pin) => ((CaptureFileSource)_source!).Unpin(pin);

    // Where in the ELF core the pages [pfn, pfn + count) are, when one segment holds them all in the
    // file; null otherwise (another dump as input, a hole, or a run across a segment's edge).
    private long? FileOffsetOf(ulong pfn, int count)
    {
        if (_source is null)
            return null;
        var addr = pfn * (ulong)PageSize;
        var i = Array.BinarySearch(_starts, addr);
        if (i < 0)
            i = ~i - 1;
        if (i < 0 || _loads[i].Start + _loads[i].FileSize < addr + (ulong)count * (ulong)PageSize)
            return null;
        return _loads[i].FileOffset + (long)(addr - _loads[i].Start);
    }

    /// <summary>Reads page <paramref name="pfn"/>; bytes no segment holds in the file read as zero.</summary>
    public void ReadPage(ulong pfn, Span<byte> page)
    {
        if (_source is null)
        {
            Dump.Read(pfn * (ulong)PageSize, page[..PageSize]);
            return;
        }
        var ps = (ulong)PageSize;
        var addr = pfn * ps;
        var end = addr + ps;
        if (FileOffsetOf(pfn, 1) is { } offset)
        {
            _source.ReadExactly(offset, page[..(int)ps], "PT_LOAD data");
            return;
        }
        // A page at the edge of a segment: gather what every segment holds of it.
        page.Clear();
        foreach (var l in _loads)
        {
            var s = Math.Max(addr, l.Start);
            var e = Math.Min(end, l.Start + l.FileSize);
            if (s < e)
                _source.ReadExactly(l.FileOffset + (long)(s - l.Start), page.Slice((int)(s - addr), (int)(e - s)), "PT_LOAD data");
        }
    }

    public void Dispose() => Dump.Dispose(); // the dump owns the byte source
}
