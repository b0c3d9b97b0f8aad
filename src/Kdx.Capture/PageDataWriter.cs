// Pass 2 of a kdump-compressed capture: dumpable pfns are gathered into batches; each batch is
// read and compressed by the workers (one compressor and page buffer each, contiguous slices of
// the batch), then written by the one caller thread in pfn order: the data compacted into one
// write, then the batch's page_desc entries. Data goes before descriptors, so after a failed
// write every descriptor on disk points at data that is there.
using System.Buffers.Binary;
using Kdx.Dump.Compression;

namespace Kdx.Capture;

internal sealed class PageDataWriter
{
    private const int BatchPages = 1024;
    private const int PageDescSize = 24;

    private readonly VmcoreSource _source;
    private readonly IDumpSink _sink;
    private readonly CaptureOptions _options;
    private readonly long _pdStart;
    private readonly long _dataStart;
    private readonly int _pageSize;
    private readonly int _slot;              // bytes reserved per page in _out
    private readonly ulong[] _pfns = new ulong[BatchPages];
    private readonly int[] _lengths = new int[BatchPages];
    private readonly KdumpFlags[] _flags = new KdumpFlags[BatchPages];
    private readonly byte[] _out;
    private readonly byte[] _descs = new byte[BatchPages * PageDescSize];
    private readonly PageCompressor[] _compressors;
    private readonly byte[][] _pages;
    private readonly ulong _total;
    private int _count;

    public PageDataWriter(VmcoreSource source, IDumpSink sink, CaptureOptions options, long pdStart, long dataStart, ulong total)
    {
        _source = source;
        _sink = sink;
        _options = options;
        _pdStart = pdStart;
        _dataStart = dataStart;
        _pageSize = source.PageSize;
        _total = total;
        _slot = PageCompressor.MaxOutput(_pageSize);
        _out = new byte[BatchPages * _slot];
        var workers = Math.Clamp(options.Threads, 1, 64);
        _compressors = new PageCompressor[workers];
        _pages = new byte[workers][];
        for (var i = 0; i < workers; i++)
        {
            _compressors[i] = new PageCompressor(options.Compression);
            _pages[i] = new byte[_pageSize];
        }
        End = dataStart;
    }

    public ulong DescIndex { get; private set; }
    public ulong ZeroPages { get; private set; }
    public ulong WrittenPages { get; private set; }
    public bool Failed => Failure is not null;
    public string? Failure { get; private set; }
    /// <summary>One past the last byte of page data written.</summary>
    public long End { get; private set; }

    /// <summary>The shared zero page every all-zero page's descriptor points at: first in the data area.</summary>
    public void WriteZeroPage()
    {
        Guarded(() => _sink.Write(_dataStart, new byte[_pageSize]));
        if (!Failed)
            End = _dataStart + _pageSize;
    }

    public void AddChunk(ulong first, ulong count, ReadOnlySpan<ulong> dumpable)
    {
        var words = (int)((count + 63) / 64);
        for (var w = 0; w < words && !Failed; w++)
        {
            var bits = dumpable[w];
            while (bits != 0 && !Failed)
            {
                var b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                _pfns[_count++] = first + (ulong)(w * 64 + b);
                if (_count == BatchPages)
                    Flush();
            }
        }
    }

    public void Flush()
    {
        if (_count == 0 || Failed)
            return;
        var workers = Math.Min(_compressors.Length, (_count + 63) / 64);
        if (workers <= 1)
            CompressSlice(0, 0, _count);
        else
        {
            var per = (_count + workers - 1) / workers;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
                w => CompressSlice(w, w * per, Math.Min(_count, (w + 1) * per)));
        }
        WriteBatch();
        _count = 0;
        _options.Progress?.Invoke(DescIndex, _total);
    }

    private void CompressSlice(int worker, int from, int to)
    {
        var page = _pages[worker];
        var compressor = _compressors[worker];
        var zeroExcluded = (_options.Level & DumpLevel.Zero) != 0;
        for (var i = from; i < to; i++)
        {
            _source.ReadPage(_pfns[i], page);
            if (zeroExcluded && !page.AsSpan().ContainsAnyExcept((byte)0))
            {
                _lengths[i] = -1;
                continue;
            }
            (_flags[i], _lengths[i]) = compressor.Compress(page, _out.AsSpan(i * _slot, _slot));
        }
    }

    private void WriteBatch()
    {
        // Compact the data in place (each slot moves down, never over a later one) and build descriptors.
        var packed = 0;
        var offset = End;
        for (var i = 0; i < _count; i++)
        {
            var d = _descs.AsSpan(i * PageDescSize, PageDescSize);
            d.Clear();
            if (_lengths[i] < 0)
            {
                BinaryPrimitives.WriteInt64LittleEndian(d, _dataStart);            // offset: the shared zero page
                BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)_pageSize); // size
                ZeroPages++;
                continue;
            }
            var n = _lengths[i];
            if (packed != i * _slot)
                _out.AsSpan(i * _slot, n).CopyTo(_out.AsSpan(packed));
            BinaryPrimitives.WriteInt64LittleEndian(d, offset + packed);
            BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)n);
            BinaryPrimitives.WriteUInt32LittleEndian(d[12..], (uint)_flags[i]);
            packed += n;
        }
        Guarded(() => _sink.Write(End, _out.AsSpan(0, packed)));
        if (Failed)
            return;
        End += packed;
        Guarded(() => _sink.Write(_pdStart + (long)DescIndex * PageDescSize, _descs.AsSpan(0, _count * PageDescSize)));
        if (Failed)
            return;
        DescIndex += (ulong)_count;
        WrittenPages += (ulong)_count;
    }

    private void Guarded(Action write)
    {
        try
        {
            write();
        }
        catch (IOException e)
        {
            Failure = e.Message;
        }
    }
}
