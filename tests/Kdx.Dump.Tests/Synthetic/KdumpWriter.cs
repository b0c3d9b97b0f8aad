// Writes a SyntheticMachine as a kdump-compressed file following makedumpfile's layout: header
// block, sub-header block(s) with the note area copied in, 1st and 2nd bitmaps, page_desc array,
// the shared zero page, then page data (stored raw when compression does not shrink it).
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Kdx.Dump.Compression;

namespace Kdx.Dump.Tests.Synthetic;

public sealed record KdumpOptions
{
    public KdumpFlags Method { get; init; } = KdumpFlags.Zlib;
    public int Version { get; init; } = 6;
    public int DumpLevel { get; init; } = 31;
    /// <summary>Write only the pages of [Start, End) and mark the file as a split part.</summary>
    public (ulong Start, ulong End)? Split { get; init; }
    /// <summary>Mark incomplete and leave descriptors (and data) after this many unwritten, like ENOSPC.</summary>
    public int? WrittenPages { get; init; }
}

public static class KdumpWriter
{
    public static byte[] Write(SyntheticMachine m, KdumpOptions? options = null)
    {
        var opt = options ?? new KdumpOptions();
        var bs = m.PageSize;
        var (notes, vmcoreAt) = NoteWriter.Write(m);
        const int SubHeaderSize = 104;
        var subBlocks = (SubHeaderSize + notes.Length + bs - 1) / bs;
        var bitmapHalf = (int)((m.MaxPfn + 7) / 8 + (ulong)bs - 1) / bs * bs;
        var bitmapBlocks = 2 * bitmapHalf / bs;
        var (start, end) = opt.Split ?? (0UL, m.MaxPfn);

        var dumpable = m.Pages.Keys.Where(p => p >= start && p < end).ToList();
        var descAt = (long)(1 + subBlocks + bitmapBlocks) * bs;
        var o = new MemoryStream();
        o.SetLength(descAt + 24L * dumpable.Count);

        // disk_dump_header
        var h = new byte[bs];
        Encoding.ASCII.GetBytes("KDUMP   ").CopyTo(h, 0);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(8), opt.Version);
        Encoding.ASCII.GetBytes("Linux").CopyTo(h, 12);
        Encoding.ASCII.GetBytes("testhost").CopyTo(h, 12 + 65);
        Encoding.ASCII.GetBytes("6.1.0-test-amd64").CopyTo(h, 12 + 130);
        Encoding.ASCII.GetBytes("x86_64").CopyTo(h, 12 + 260);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(408), 1763865000);
        var status = (uint)opt.Method | (opt.WrittenPages is null ? 0u : (uint)KdumpFlags.Incomplete);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(424), status);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(428), bs);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(432), subBlocks);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(436), (uint)bitmapBlocks);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(440), (uint)m.MaxPfn);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(460), m.Cpus.Count);
        Put(o, 0, h);

        // kdump_sub_header, then the note area right after it
        var s = new byte[SubHeaderSize];
        BinaryPrimitives.WriteInt32LittleEndian(s.AsSpan(8), opt.DumpLevel);
        BinaryPrimitives.WriteInt32LittleEndian(s.AsSpan(12), opt.Split is null ? 0 : 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(16), start);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(24), end);
        var notesAt = (long)bs + SubHeaderSize;
        if (vmcoreAt >= 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(32), notesAt + vmcoreAt);
            BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(40), (ulong)m.VmcoreInfo.Length);
        }
        BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(48), notesAt);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(56), (ulong)notes.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(80), start);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(88), end);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(96), m.MaxPfn);
        Put(o, bs, s);
        Put(o, notesAt, notes);

        // bitmaps: the whole machine, in every part of a split set
        var bm1 = new byte[bitmapHalf];
        var bm2 = new byte[bitmapHalf];
        for (ulong pfn = 0; pfn < m.MaxPfn; pfn++)
        {
            if (m.IsRam(pfn))
                bm1[pfn / 8] |= (byte)(1 << (int)(pfn % 8));
            if (m.Pages.ContainsKey(pfn))
                bm2[pfn / 8] |= (byte)(1 << (int)(pfn % 8));
        }
        var bitmapAt = (long)(1 + subBlocks) * bs;
        Put(o, bitmapAt, bm1);
        Put(o, bitmapAt + bitmapHalf, bm2);

        // shared zero page, then the data; descriptors in pfn order
        var dataAt = descAt + 24L * dumpable.Count;
        var zeroAt = dataAt;
        Put(o, zeroAt, new byte[bs]);
        var next = zeroAt + bs;
        var written = opt.WrittenPages ?? int.MaxValue;
        for (var i = 0; i < dumpable.Count && i < written; i++)
        {
            var page = m.Pages[dumpable[i]];
            long offset;
            uint flags = 0;
            byte[] data;
            if (page.All(b => b == 0))
            {
                offset = zeroAt;
                data = new byte[bs];
            }
            else
            {
                data = Compress(opt.Method, page);
                flags = (uint)opt.Method;
                if (data.Length >= bs)
                {
                    data = page;
                    flags = 0;
                }
                offset = next;
                Put(o, offset, data);
                next += data.Length;
            }
            var d = new byte[24];
            BinaryPrimitives.WriteInt64LittleEndian(d, offset);
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(8), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(12), flags);
            Put(o, descAt + 24L * i, d);
        }
        return o.ToArray();
    }

    public static byte[] Compress(KdumpFlags method, byte[] page)
    {
        switch (method)
        {
            case KdumpFlags.None:
                return page;
            case KdumpFlags.Zlib:
                var ms = new MemoryStream();
                using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true))
                    z.Write(page);
                return ms.ToArray();
            case KdumpFlags.Lzo:
                return Lzo1xTestEncoder.Compress(page);
            case KdumpFlags.Snappy:
                return Snappier.Snappy.CompressToArray(page);
            case KdumpFlags.Zstd:
                using (var c = new ZstdSharp.Compressor(1))
                    return c.Wrap(page).ToArray();
            default:
                throw new ArgumentOutOfRangeException(nameof(method));
        }
    }

    private static void Put(MemoryStream o, long at, byte[] data)
    {
        o.Position = at;
        o.Write(data);
    }
}
