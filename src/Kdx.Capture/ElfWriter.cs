// Writes an ELF64 core (-E) from a capture input: one PT_NOTE (the input's notes, verbatim) and a
// PT_LOAD per run of kept pages, whose p_memsz also covers the excluded pages after it (readers
// report those as filtered out, as they do for makedumpfile -E). Three streaming passes classify
// the pfns chunk by chunk: count the segments, write the program headers, write the pages. Pages
// are stored raw; all-zero pages are kept as data (ELF has no shared zero page).
using System.Buffers.Binary;
using Kdx.Dump.Compression;

namespace Kdx.Capture;

public static class ElfWriter
{
    private const int EhdrSize = 64, PhdrSize = 56;
    private const uint EfIncomplete = 1; // e_flags bit makedumpfile sets on an incomplete ELF dump
    private const int BatchPages = 1024;

    // A PT_LOAD: Kept pages from Start stored in the file, then Excluded pages only in p_memsz.
    private readonly record struct Segment(ulong Start, ulong Kept, ulong Excluded);

    public static CaptureResult Write(VmcoreSource source, IDumpSink sink, CaptureOptions options, CancellationToken cancel = default)
    {
        if (options.Compression != KdumpFlags.None)
            throw new ArgumentException("ELF output is not compressed", nameof(options));
        var classifier = new PageClassifier(source, options.Level & ~DumpLevel.Zero);
        var ps = (ulong)source.PageSize;

        // Pass 1: how many segments and pages.
        ulong segments = 0, present = 0, kept = 0;
        Walk(source, classifier, cancel, s => { segments++; kept += s.Kept; }, p => present += p);
        if (segments + 1 > ushort.MaxValue - 1)
            throw new IOException($"{segments} PT_LOAD segments are more than an ELF header can count here; write kdump-compressed instead");
        var phnum = (int)segments + 1;
        var notesAt = EhdrSize + (long)phnum * PhdrSize;
        var dataAt = (notesAt + source.NoteBytes.Length + (long)ps - 1) / (long)ps * (long)ps;

        var ehdr = new byte[EhdrSize];
        WriteEhdr(ehdr, phnum);
        string? failure = null;
        ulong written = 0;
        long end = dataAt;
        try
        {
            sink.Write(0, ehdr);
            var ph = new byte[PhdrSize];
            BinaryPrimitives.WriteUInt32LittleEndian(ph, 4);                                   // p_type PT_NOTE
            BinaryPrimitives.WriteInt64LittleEndian(ph.AsSpan(8), notesAt);                    // p_offset
            BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(32), (ulong)source.NoteBytes.Length); // p_filesz
            BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(40), (ulong)source.NoteBytes.Length); // p_memsz
            sink.Write(EhdrSize, ph);
            sink.Write(notesAt, source.NoteBytes);

            // Pass 2: program headers, with file offsets from the running count of kept pages.
            classifier.Restart();
            var index = 1;
            var offset = dataAt;
            Walk(source, classifier, cancel, s =>
            {
                ph.AsSpan().Clear();
                BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);                               // p_type PT_LOAD
                BinaryPrimitives.WriteUInt32LittleEndian(ph.AsSpan(4), 7);                     // p_flags RWX
                BinaryPrimitives.WriteInt64LittleEndian(ph.AsSpan(8), offset);                 // p_offset
                BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(16), VirtualAddress(source, s.Start * ps)); // p_vaddr
                BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(24), s.Start * ps);         // p_paddr
                BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(32), s.Kept * ps);          // p_filesz
                BinaryPrimitives.WriteUInt64LittleEndian(ph.AsSpan(40), (s.Kept + s.Excluded) * ps); // p_memsz
                sink.Write(EhdrSize + (long)index++ * PhdrSize, ph);
                offset += (long)(s.Kept * ps);
            }, null);

            // Pass 3: the pages, in the same order.
            classifier.Restart();
            var buffer = new byte[BatchPages * (int)ps];
            Walk(source, classifier, cancel, s =>
            {
                for (ulong done = 0; done < s.Kept;)
                {
                    var n = (int)Math.Min(s.Kept - done, BatchPages);
                    source.ReadPages(s.Start + done, n, buffer);
                    sink.Write(end, buffer.AsSpan(0, n * (int)ps));
                    end += n * (long)ps;
                    done += (ulong)n;
                    written += (ulong)n;
                    options.Progress?.Invoke(written, kept);
                }
            }, null);
        }
        catch (IOException e)
        {
            failure = e.Message;
            BinaryPrimitives.WriteUInt32LittleEndian(ehdr.AsSpan(48), EfIncomplete);
            try { sink.Write(0, ehdr); } catch (IOException) { } // block 0 exists already; the first failure is the one reported
        }
        try { sink.Complete(); } catch (IOException e) { failure ??= e.Message; }
        return new CaptureResult(source.MaxMapnr, present, kept, 0, written, classifier.Counts.Clone(),
            end, failure is not null, failure, classifier.Problems);
    }

    // Classifies every chunk and reports segments in pfn order: a segment closes when a RAM run
    // ends or a kept page follows an excluded one.
    private static void Walk(VmcoreSource source, PageClassifier classifier, CancellationToken cancel, Action<Segment> segment, Action<ulong>? presentPages)
    {
        var chunk = classifier.ChunkPages;
        var present = new ulong[chunk / 64];
        var dumpable = new ulong[chunk / 64];
        ulong start = 0, keptRun = 0, excludedRun = 0;
        var open = false;
        for (ulong first = 0; first < source.MaxMapnr; first += chunk)
        {
            cancel.ThrowIfCancellationRequested();
            var count = Math.Min(chunk, source.MaxMapnr - first);
            classifier.Classify(first, count, present, dumpable);
            ulong chunkPresent = 0;
            for (ulong i = 0; i < count; i++)
            {
                var w = (int)(i >> 6);
                if ((i & 63) == 0 && present[w] == 0)
                {
                    // 64 pfns without RAM: a hole closes the open segment
                    if (open)
                        segment(new Segment(start, keptRun, excludedRun));
                    open = false;
                    i += 63;
                    continue;
                }
                var m = 1UL << (int)(i & 63);
                var isRam = (present[w] & m) != 0;
                var isKept = (dumpable[w] & m) != 0;
                if (isRam)
                    chunkPresent++;
                if (open && (!isRam || (isKept && excludedRun > 0)))
                {
                    segment(new Segment(start, keptRun, excludedRun));
                    open = false;
                }
                if (!isRam)
                    continue;
                if (!open)
                {
                    (start, keptRun, excludedRun, open) = (first + i, 0, 0, true);
                }
                if (isKept)
                    keptRun++;
                else
                    excludedRun++;
            }
            presentPages?.Invoke(chunkPresent);
        }
        if (open)
            segment(new Segment(start, keptRun, excludedRun));
    }

    // The input segment's virtual address for a physical one (the lowest-starting segment that holds it).
    private static ulong VirtualAddress(VmcoreSource source, ulong paddr)
    {
        foreach (var l in source.Loads)
            if (paddr >= l.Start && paddr < l.End)
                return l.VirtualAddress + (paddr - l.Start);
        return 0;
    }

    private static void WriteEhdr(Span<byte> e, int phnum)
    {
        e.Clear();
        e[0] = 0x7f; e[1] = (byte)'E'; e[2] = (byte)'L'; e[3] = (byte)'F';
        e[4] = 2;   // ELFCLASS64
        e[5] = 1;   // ELFDATA2LSB
        e[6] = 1;   // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(e[16..], 4);          // e_type ET_CORE
        BinaryPrimitives.WriteUInt16LittleEndian(e[18..], 62);         // e_machine EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(e[20..], 1);          // e_version
        BinaryPrimitives.WriteUInt64LittleEndian(e[32..], EhdrSize);   // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(e[52..], EhdrSize);   // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(e[54..], PhdrSize);   // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(e[56..], (ushort)phnum); // e_phnum
        BinaryPrimitives.WriteUInt16LittleEndian(e[58..], 64);         // e_shentsize
    }
}
