// Writes a kdump-compressed (header version 6) dump, or a --split set, from a capture input in two
// streaming passes over the pfns, chunk by chunk, so memory does not grow with the crashed
// machine's RAM:
//   pass 1 classifies each chunk and writes its 1st and 2nd bitmap bytes, counting dumpable pages
//          (which fixes where the page_desc array ends and page data begins); it keeps the 2nd
//          bitmap when that is at most BitmapCacheBytes, so pass 2 need not classify again;
//   pass 2 feeds the dumpable pfns to PageDataWriter's pipeline (workers read and compress
//          batches, this thread writes them in pfn order).
// Memory bound (docs/capture.md): one chunk's bitmaps and struct pages (2 MiB for x86_64's
// 32768-page sections), the kept bitmap up to BitmapCacheBytes, the pipeline's batches, and the
// input's mapped windows — none of it grows with the RAM beyond those caps.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Dump.Compression;
using Kdx.Kernel.Arch.X86_64;

namespace Kdx.Capture;

public sealed record CaptureOptions
{
    public DumpLevel Level { get; init; } = DumpLevel.All;
    /// <summary>KdumpFlags.None (raw), Zlib, Lzo, Snappy or Zstd.</summary>
    public KdumpFlags Compression { get; init; } = KdumpFlags.None;
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Called with (pages done, pages to write) during pass 2.</summary>
    public Action<ulong, ulong>? Progress { get; init; }
}

public sealed record CaptureResult(
    ulong MaxMapnr, ulong PresentPages, ulong DumpablePages, ulong ZeroPages, ulong WrittenPages,
    ExclusionCounts Excluded, long FileSize, bool Incomplete, string? Failure, IReadOnlyList<string> Problems);

public static class KdumpWriter
{
    public const int HeaderVersion = 6;
    private const int SubHeaderSize = 104;
    private const int PageDescSize = 24;

    /// <summary>Pass 1 keeps the whole 2nd bitmap for pass 2 when it is at most this big (a 128 GiB physical address space), instead of classifying again.</summary>
    public const int BitmapCacheBytes = 4 << 20;

    public static CaptureResult Write(VmcoreSource source, IDumpSink sink, CaptureOptions options, CancellationToken cancel = default) =>
        Write(source, [sink], options, cancel);

    /// <summary>
    /// Writes one dump, or with several sinks a --split set: every part has the same headers and
    /// bitmaps, and holds the pages of its own pfn range (ranges of about equal numbers of dumpable pages).
    /// </summary>
    public static CaptureResult Write(VmcoreSource source, IReadOnlyList<IDumpSink> sinks, CaptureOptions options, CancellationToken cancel = default)
    {
        if (sinks.Count == 0)
            throw new ArgumentException("no output", nameof(sinks));
        var classifier = new PageClassifier(source, options.Level);
        var bs = source.PageSize;
        var maxMapnr = source.MaxMapnr;
        var bitmapBytesPerHalf = RoundUp((long)((maxMapnr + 7) / 8), bs);
        var subHeaderBlocks = (int)(RoundUp(SubHeaderSize + source.NoteBytes.Length, bs) / bs);
        var bitmapOffset = (long)(1 + subHeaderBlocks) * bs;
        var pdOffset = bitmapOffset + 2 * bitmapBytesPerHalf;

        // The headers go first, so an output that fills the disk later still has them (split
        // ranges are filled in after pass 1, in the same blocks).
        var header = BuildHeaders(source, options, subHeaderBlocks, (uint)(2 * bitmapBytesPerHalf / bs), bs);
        foreach (var sink in sinks)
            sink.Write(0, header);

        var chunk = classifier.ChunkPages;
        var words = (int)(chunk / 64);
        var chunks = (int)((maxMapnr + chunk - 1) / chunk);
        var present = ArrayPool<ulong>.Shared.Rent(words);
        var dumpable = ArrayPool<ulong>.Shared.Rent(words);
        var bitmapBytes = ArrayPool<byte>.Shared.Rent(words * 8);
        var cache = maxMapnr / 8 <= BitmapCacheBytes ? new ulong[chunks * words] : null;
        var perChunk = new ulong[chunks];
        try
        {
            // Pass 1: bitmaps and the number of dumpable pages.
            ulong presentPages = 0, dumpablePages = 0;
            for (var c = 0; c < chunks; c++)
            {
                cancel.ThrowIfCancellationRequested();
                var first = (ulong)c * chunk;
                var count = Math.Min(chunk, maxMapnr - first);
                classifier.Classify(first, count, present, dumpable);
                var n = (int)((count + 7) / 8);
                foreach (var sink in sinks)
                {
                    presentPages += WriteBits(sink, bitmapOffset + (long)(first / 8), present, n, bitmapBytes);
                    perChunk[c] = WriteBits(sink, bitmapOffset + bitmapBytesPerHalf + (long)(first / 8), dumpable, n, bitmapBytes);
                }
                dumpablePages += perChunk[c];
                if (cache is not null)
                    dumpable.AsSpan(0, words).CopyTo(cache.AsSpan(c * words));
            }
            presentPages /= (ulong)sinks.Count;
            var excluded = classifier.Counts.Clone();
            var parts = SplitRanges(perChunk, cache, chunk, maxMapnr, dumpablePages, sinks.Count);

            // Pass 2: page data, part by part in pfn order.
            classifier.Restart();
            string? failure = null;
            ulong zero = 0, written = 0;
            long size = 0;
            for (var p = 0; p < sinks.Count; p++)
            {
                var (start, end, pages) = parts[p];
                var sink = sinks[p];
                string? partFailure = null;
                var state = new PageDataWriter(source, sink, options, pdOffset, pdOffset + (long)pages * PageDescSize, pages);
                try
                {
                    if (sinks.Count > 1)
                        WriteSplitRange(sink, header, start, end, bs);
                    state.WriteZeroPage();
                    for (var first = start / chunk * chunk; first < end && !state.Failed; first += chunk)
                    {
                        cancel.ThrowIfCancellationRequested();
                        var count = Math.Min(chunk, maxMapnr - first);
                        if (cache is null)
                        {
                            // Without the kept bitmap, parts start at chunk boundaries: each chunk is classified once, in order.
                            classifier.Classify(first, count, present, dumpable);
                            state.AddChunk(first, count, dumpable.AsSpan(0, words));
                            continue;
                        }
                        var lo = Math.Max(first, start);
                        var hi = Math.Min(first + count, end);
                        state.AddChunk(lo, hi - lo, cache.AsSpan((int)(lo / 64), (int)((hi - lo + 63) / 64)));
                    }
                    state.Flush();
                    if (state.DescIndex != pages && !state.Failed)
                        throw new InvalidOperationException($"pass 2 found {state.DescIndex} dumpable pages, pass 1 {pages}: the input changed while it was read");
                }
                catch (IOException e)
                {
                    partFailure = e.Message;
                }
                finally
                {
                    state.Dispose();
                }
                partFailure ??= state.Failure;
                if (partFailure is not null)
                    MarkIncomplete(sink, header);
                try
                {
                    sink.Complete();
                }
                catch (IOException e)
                {
                    partFailure ??= e.Message;
                }
                failure ??= partFailure;
                zero += state.ZeroPages;
                written += state.WrittenPages;
                size += state.End;
            }
            return new CaptureResult(maxMapnr, presentPages, dumpablePages, zero, written, excluded,
                size, failure is not null, failure, classifier.Problems);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(present);
            ArrayPool<ulong>.Shared.Return(dumpable);
            ArrayPool<byte>.Shared.Return(bitmapBytes);
        }
    }

    // Pfn ranges [Start, End) for the parts, cut where the running count of dumpable pages passes
    // each part's equal share: at a 64-pfn word of the kept bitmap when pass 1 kept it, else at a
    // chunk boundary. Pages is the part's dumpable pages.
    private static (ulong Start, ulong End, ulong Pages)[] SplitRanges(ulong[] perChunk, ulong[]? cache, ulong chunk, ulong maxMapnr, ulong total, int parts)
    {
        var ranges = new (ulong Start, ulong End, ulong Pages)[parts];
        ulong start = 0, before = 0;
        var c = 0;
        var w = 0;
        for (var p = 0; p < parts; p++)
        {
            var share = total * (ulong)(p + 1) / (ulong)parts;
            ulong end;
            if (p == parts - 1)
                end = maxMapnr;
            else if (cache is not null)
            {
                for (; w < cache.Length && before < share; w++)
                    before += (ulong)System.Numerics.BitOperations.PopCount(cache[w]);
                end = Math.Min((ulong)w * 64, maxMapnr);
            }
            else
            {
                for (; c < perChunk.Length && before < share; c++)
                    before += perChunk[c];
                end = Math.Min((ulong)c * chunk, maxMapnr);
            }
            ranges[p] = (start, end, CountKept(start, end, perChunk, cache, chunk));
            start = end;
        }
        return ranges;
    }

    private static ulong CountKept(ulong start, ulong end, ulong[] perChunk, ulong[]? cache, ulong chunk)
    {
        ulong n = 0;
        if (cache is null)
        {
            for (var c = (int)(start / chunk); (ulong)c * chunk < end; c++)
                n += perChunk[c];
            return n;
        }
        for (var w = (int)(start / 64); (ulong)w * 64 < end; w++)
            n += (ulong)System.Numerics.BitOperations.PopCount(cache[w]);
        return n;
    }

    // A split part's sub-header: split = 1 and its pfn range (start_pfn/end_pfn and their 64-bit copies).
    private static void WriteSplitRange(IDumpSink sink, byte[] header, ulong start, ulong end, int bs)
    {
        var s = header.AsSpan(bs, SubHeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], 1);                          // split
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], Math.Min(start, uint.MaxValue)); // start_pfn
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], Math.Min(end, uint.MaxValue));   // end_pfn
        BinaryPrimitives.WriteUInt64LittleEndian(s[80..], start);                     // start_pfn_64
        BinaryPrimitives.WriteUInt64LittleEndian(s[88..], end);                       // end_pfn_64
        sink.Write(bs, s);
    }

    private static long RoundUp(long n, int block) => (n + block - 1) / block * block;

    // Bitmaps are little-endian bit order within bytes: bit i of byte b is pfn 8b + i.
    private static ulong WriteBits(IDumpSink sink, long offset, ulong[] bits, int byteCount, byte[] scratch)
    {
        ulong set = 0;
        var words = (byteCount + 7) / 8;
        for (var i = 0; i < words; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(scratch.AsSpan(i * 8), bits[i]);
            set += (ulong)System.Numerics.BitOperations.PopCount(bits[i]);
        }
        sink.Write(offset, scratch.AsSpan(0, byteCount));
        return set;
    }

    private static void MarkIncomplete(IDumpSink sink, byte[] header)
    {
        var status = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(424)) | (uint)KdumpFlags.Incomplete;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(424), status);
        try
        {
            sink.Write(0, header.AsSpan(0, 464));
        }
        catch (IOException)
        {
            // The header block was written first, so rewriting it needs no new space; if even
            // that fails, the failure already reported is the one that matters.
        }
    }

    // disk_dump_header (block 0) and kdump_sub_header + note copy (blocks 1..), x86_64 layout.
    // start_pfn/end_pfn stay 0 outside a split set, as makedumpfile leaves them.
    private static byte[] BuildHeaders(VmcoreSource source, CaptureOptions options, int subHeaderBlocks, uint bitmapBlocks, int bs)
    {
        var info = source.VmcoreInfo;
        var buf = new byte[(1 + subHeaderBlocks) * bs];
        var h = buf.AsSpan(0, bs);
        "KDUMP   "u8.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], HeaderVersion);
        WriteUtsname(source, h.Slice(12, 6 * 65));
        var time = info.CrashTime ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        BinaryPrimitives.WriteInt64LittleEndian(h[408..], time);                        // timestamp.tv_sec
        BinaryPrimitives.WriteUInt32LittleEndian(h[424..], (uint)options.Compression);  // status
        BinaryPrimitives.WriteInt32LittleEndian(h[428..], bs);                          // block_size
        BinaryPrimitives.WriteInt32LittleEndian(h[432..], subHeaderBlocks);             // sub_hdr_size
        BinaryPrimitives.WriteUInt32LittleEndian(h[436..], bitmapBlocks);               // bitmap_blocks
        BinaryPrimitives.WriteUInt32LittleEndian(h[440..], (uint)Math.Min(source.MaxMapnr, uint.MaxValue)); // max_mapnr
        var cpus = 0;
        foreach (var c in source.Dump.Cpus)
            cpus = Math.Max(cpus, c.Cpu + 1);
        BinaryPrimitives.WriteInt32LittleEndian(h[460..], Math.Max(cpus, source.Dump.Cpus.Count)); // nr_cpus

        var s = buf.AsSpan(bs);
        var noteOffset = bs + SubHeaderSize;
        BinaryPrimitives.WriteUInt64LittleEndian(s, (ulong)(info.Number("phys_base") ?? 0)); // phys_base
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], (int)options.Level);                 // dump_level
        if (FindVmcoreInfoDescriptor(source.NoteBytes) is var (at, length))
        {
            BinaryPrimitives.WriteInt64LittleEndian(s[32..], noteOffset + at);  // offset_vmcoreinfo
            BinaryPrimitives.WriteUInt64LittleEndian(s[40..], (ulong)length);   // size_vmcoreinfo
        }
        BinaryPrimitives.WriteInt64LittleEndian(s[48..], noteOffset);                         // offset_note
        BinaryPrimitives.WriteUInt64LittleEndian(s[56..], (ulong)source.NoteBytes.Length);    // size_note
        BinaryPrimitives.WriteUInt64LittleEndian(s[96..], source.MaxMapnr);                   // max_mapnr_64
        source.NoteBytes.CopyTo(s[SubHeaderSize..]);
        return buf;
    }

    // new_utsname from the kernel's init_uts_ns (sysname, nodename, release, version, machine, domainname).
    private static void WriteUtsname(VmcoreSource source, Span<byte> uts)
    {
        var info = source.VmcoreInfo;
        if (info.Symbol("init_uts_ns") is { } sym)
        {
            try
            {
                KernelMemory.Open(source.Dump).Read(sym + (info.Offset("uts_namespace", "name") ?? 0), uts);
                return;
            }
            catch (Exception e) when (e is PageNotInDumpException or DumpFormatException or Kdx.Kernel.Memory.UnmappedAddressException)
            {
                uts.Clear();
            }
        }
        // Fall back to what VMCOREINFO says itself.
        Encoding.ASCII.GetBytes("Linux", uts);
        Encoding.ASCII.GetBytes(info.OsRelease ?? "", uts.Slice(2 * 65, 64));
        Encoding.ASCII.GetBytes("x86_64", uts.Slice(4 * 65, 64));
    }

    private static (int Offset, int Length)? FindVmcoreInfoDescriptor(ReadOnlySpan<byte> notes)
    {
        var pos = 0;
        while (notes.Length - pos >= 12)
        {
            var namesz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[pos..]);
            var descsz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[(pos + 4)..]);
            if (namesz is < 0 or > 4096 || descsz < 0 || (namesz == 0 && descsz == 0))
                return null;
            var desc = pos + 12 + ((namesz + 3) & ~3);
            if (desc + descsz > notes.Length)
                return null;
            if (notes.Slice(pos + 12, namesz).StartsWith("VMCOREINFO\0"u8))
                return (desc, descsz);
            pos = desc + ((descsz + 3) & ~3);
        }
        return null;
    }
}
