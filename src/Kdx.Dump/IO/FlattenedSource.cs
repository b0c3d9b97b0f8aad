// makedumpfile's flattened format (-F, and QEMU's dump-guest-memory -z): a 4096-byte header, then
// records { be64 offset; be64 size; data } that say where each piece of the "real" file goes,
// ended by offset = size = -1. This source indexes the records once and then serves the rebuilt
// file's bytes in place, so a flattened dump is read without writing it out again.
using System.Buffers.Binary;

namespace Kdx.Dump.IO;

public sealed class FlattenedSource : IByteSource
{
    /// <summary>Size of the flat header (MAX_SIZE_MDF_HEADER).</summary>
    public const int HeaderSize = 4096;

    private const int RecordHeaderSize = 16;
    private static ReadOnlySpan<byte> Signature => "makedumpfile"u8;

    private readonly IByteSource _file;

    // Disjoint segments of the rebuilt file, sorted by logical offset.
    private readonly long[] _logical;
    private readonly long[] _fileOffset;
    private readonly long[] _length;

    private FlattenedSource(IByteSource file, long[] logical, long[] fileOffset, long[] length, long logicalLength, int records, bool truncated)
    {
        _file = file;
        _logical = logical;
        _fileOffset = fileOffset;
        _length = length;
        Length = logicalLength;
        RecordCount = records;
        Truncated = truncated;
    }

    public string Name => _file.Name;

    public long Length { get; }

    /// <summary>Number of data records in the stream.</summary>
    public int RecordCount { get; }

    /// <summary>The stream ended without the end marker (offset = size = -1): the writer was cut short.</summary>
    public bool Truncated { get; }

    /// <summary>True when the first bytes are a flat header: signature "makedumpfile", type 1.</summary>
    public static bool IsFlattened(ReadOnlySpan<byte> head) =>
        head.Length >= 32
        && head[..Signature.Length].SequenceEqual(Signature)
        && head[Signature.Length] == 0
        && BinaryPrimitives.ReadInt64BigEndian(head[16..]) == 1; // mdf_header.type == TYPE_FLAT_HEADER

    /// <summary>Indexes the records of a flattened stream. The source stays owned by the result.</summary>
    public static FlattenedSource Open(IByteSource file)
    {
        Span<byte> head = stackalloc byte[32];
        file.ReadExactly(0, head, "flattened header");
        if (!IsFlattened(head))
            throw new DumpFormatException(file.Name, 0, "not a flattened dump (no makedumpfile flat header)");
        var version = BinaryPrimitives.ReadInt64BigEndian(head[24..]); // mdf_header.version
        if (version != 1)
            throw new DumpFormatException(file.Name, 24, $"flattened format version {version} is not supported (expected 1)");

        var maxRecords = Math.Min(DumpLimits.MaxFlattenedRecords, file.Length / RecordHeaderSize + 1);
        var records = new List<Record>();
        Span<byte> rh = stackalloc byte[RecordHeaderSize];
        long pos = HeaderSize;
        var truncated = true;
        while (pos + RecordHeaderSize <= file.Length)
        {
            file.ReadExactly(pos, rh, "flattened record header");
            var offset = BinaryPrimitives.ReadInt64BigEndian(rh);        // makedumpfile_data_header.offset
            var size = BinaryPrimitives.ReadInt64BigEndian(rh[8..]);     // makedumpfile_data_header.buf_size
            if (offset == -1 && size == -1)
            {
                truncated = false;
                break;
            }
            if (offset < 0 || size < 0 || offset > long.MaxValue - size)
                throw new DumpFormatException(file.Name, pos, $"flattened record has a bad offset 0x{offset:x} or size 0x{size:x}");
            var data = pos + RecordHeaderSize;
            if (size > file.Length - data)
            {
                // Cut short while writing: keep what reached the file and stop.
                size = file.Length - data;
                if (size > 0)
                    records.Add(new Record(offset, size, data, records.Count));
                break;
            }
            if (records.Count >= maxRecords)
                throw new DumpFormatException(file.Name, pos, $"flattened stream has more than {maxRecords} records");
            if (size > 0)
                records.Add(new Record(offset, size, data, records.Count));
            pos = data + size; // size >= 0, so pos strictly grows by at least the header size
        }
        var (logical, fileOffsets, lengths, end) = Resolve(records);
        return new FlattenedSource(file, logical, fileOffsets, lengths, end, records.Count, truncated);
    }

    private readonly record struct Record(long Offset, long Size, long FileOffset, int Sequence)
    {
        public long End => Offset + Size;
    }

    // Turns possibly overlapping records into disjoint segments where the later record wins,
    // as it would when the stream is replayed into a file.
    private static (long[], long[], long[], long) Resolve(List<Record> records)
    {
        records.Sort(static (a, b) => a.Offset != b.Offset ? a.Offset.CompareTo(b.Offset) : a.Sequence.CompareTo(b.Sequence));
        long end = 0;
        var overlaps = false;
        foreach (var r in records)
        {
            if (r.Offset < end)
                overlaps = true;
            end = Math.Max(end, r.End);
        }
        var logical = new List<long>(records.Count);
        var files = new List<long>(records.Count);
        var lengths = new List<long>(records.Count);
        if (!overlaps)
        {
            foreach (var r in records)
            {
                logical.Add(r.Offset);
                files.Add(r.FileOffset);
                lengths.Add(r.Size);
            }
            return (logical.ToArray(), files.ToArray(), lengths.ToArray(), end);
        }

        // Sweep over every boundary; the live record with the highest sequence number owns each gap.
        var bounds = new long[records.Count * 2];
        for (var i = 0; i < records.Count; i++)
        {
            bounds[2 * i] = records[i].Offset;
            bounds[2 * i + 1] = records[i].End;
        }
        Array.Sort(bounds);
        var live = new PriorityQueue<int, int>();
        var next = 0;
        var lastOwner = -1;
        for (var b = 0; b + 1 < bounds.Length; b++)
        {
            var from = bounds[b];
            var to = bounds[b + 1];
            while (next < records.Count && records[next].Offset <= from)
            {
                live.Enqueue(next, -records[next].Sequence);
                next++;
            }
            while (live.Count > 0 && records[live.Peek()].End <= from)
                live.Dequeue();
            if (from == to || live.Count == 0)
            {
                if (live.Count == 0)
                    lastOwner = -1;
                continue;
            }
            var owner = live.Peek();
            var r = records[owner];
            if (owner == lastOwner && logical.Count > 0 && logical[^1] + lengths[^1] == from)
            {
                lengths[^1] += to - from;
            }
            else
            {
                logical.Add(from);
                files.Add(r.FileOffset + (from - r.Offset));
                lengths.Add(to - from);
            }
            lastOwner = owner;
        }
        return (logical.ToArray(), files.ToArray(), lengths.ToArray(), end);
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length)
            return 0;
        var total = (int)Math.Min(destination.Length, Length - offset);
        var done = 0;
        var i = FindSegment(offset);
        while (done < total)
        {
            var at = offset + done;
            while (i < _logical.Length && _logical[i] + _length[i] <= at)
                i++;
            if (i < _logical.Length && _logical[i] <= at)
            {
                var n = (int)Math.Min(total - done, _logical[i] + _length[i] - at);
                var got = _file.ReadAt(_fileOffset[i] + (at - _logical[i]), destination.Slice(done, n));
                if (got != n)
                    throw new DumpFormatException(Name, _fileOffset[i] + (at - _logical[i]) + got, "flattened record data: short read");
                done += n;
            }
            else
            {
                // A gap no record wrote: zeros, as in a file rebuilt with makedumpfile -R.
                var gapEnd = i < _logical.Length ? _logical[i] : Length;
                var n = (int)Math.Min(total - done, gapEnd - at);
                destination.Slice(done, n).Clear();
                done += n;
            }
        }
        return total;
    }

    public bool TryGetSpan(long offset, int length, out ReadOnlySpan<byte> span)
    {
        span = default;
        if (offset < 0 || length < 0 || offset > Length - length)
            return false;
        var i = FindSegment(offset);
        return i < _logical.Length && _logical[i] <= offset && offset + length <= _logical[i] + _length[i]
            && _file.TryGetSpan(_fileOffset[i] + (offset - _logical[i]), length, out span);
    }

    // Records are written in file order, so the segments of a logical range are (nearly) one
    // stretch of the stream: evict from the first one's data to the end of the last one's.
    public void Evict(long offset, long length)
    {
        if (offset < 0 || length <= 0 || _logical.Length == 0 || offset >= Length)
            return;
        var first = FindSegment(offset);
        var last = FindSegment(Math.Min(offset + length, Length) - 1);
        var from = _fileOffset[first] + Math.Max(0, offset - _logical[first]);
        var to = _fileOffset[last] + Math.Min(_length[last], offset + length - _logical[last]);
        if (to > from)
            _file.Evict(from, to - from);
    }

    // Index of the last segment starting at or before offset (0 when none does).
    private int FindSegment(long offset)
    {
        var i = Array.BinarySearch(_logical, offset);
        if (i >= 0)
            return i;
        i = ~i - 1;
        return Math.Max(i, 0);
    }

    public void Dispose() => _file.Dispose();
}
