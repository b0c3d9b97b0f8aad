// Pass 2 of a kdump-compressed capture, as a pipeline: the caller's thread gathers dumpable pfns
// into batches; Threads - 1 worker threads each take a whole batch, read and compress its pages
// into the batch's own packed buffer; the caller's thread writes finished batches in pfn order
// (the data in one write, their page_desc entries gathered into large writes). When the oldest
// batch is not done yet, the caller compresses a queued batch itself instead of waiting, so the
// pipeline never stalls on a worker the scheduler has not run (a busy machine, or a capture kernel
// with one CPU, where there are no workers at all). Data goes to the file before the descriptors
// that point at it, so after a failed write every descriptor on disk points at data that is there.
// Memory: Threads + 2 batches of BatchPages pages (2 MiB at 4 KiB pages), plus a read buffer of
// ReadRunPages pages (256 KiB) and a compressor per thread.
using System.Buffers.Binary;
using System.Collections.Concurrent;
using Kdx.Dump.Compression;

namespace Kdx.Capture;

internal sealed class PageDataWriter : IDisposable
{
    /// <summary>Pages per batch: the unit a worker compresses and the writer writes.</summary>
    public const int BatchPages = 512;
    /// <summary>Compression workers at most: more do not help a writer of one file and only cost memory.</summary>
    public const int MaxWorkers = 8;
    private const int PageDescSize = 24;
    private const int DescBufferEntries = 4096; // page_desc entries gathered per write (96 KiB)
    /// <summary>Consecutive pages read from the input in one piece (256 KiB at 4 KiB pages).</summary>
    private const int ReadRunPages = 64;

    private readonly VmcoreSource _source;
    private readonly IDumpSink _sink;
    private readonly CaptureOptions _options;
    private readonly long _pdStart;
    private readonly long _dataStart;
    private readonly int _pageSize;
    private readonly ulong _total;
    private readonly bool _zeroExcluded;
    private readonly Stack<Batch> _free = new();
    private readonly Queue<Batch> _pending = new();
    private readonly BlockingCollection<Batch> _work = new();
    private readonly Thread[] _workers;
    private readonly Compressing _mine;   // the caller's own, for the batches it compresses while waiting
    private readonly byte[] _descs = new byte[DescBufferEntries * PageDescSize];
    private int _descCount;
    private Batch? _filling;

    private sealed class Batch(int pageSize)
    {
        public readonly ulong[] Pfns = new ulong[BatchPages];
        public readonly int[] Lengths = new int[BatchPages];   // -1: all zero, stored as the shared zero page
        public readonly KdumpFlags[] Flags = new KdumpFlags[BatchPages];
        // stored pages, packed, compressed in place: a page stores at most pageSize bytes, so the
        // room left for the next page is never less than the worst case of one compression
        public readonly byte[] Data = new byte[BatchPages * pageSize + PageCompressor.MaxOutput(pageSize)];
        public readonly ManualResetEventSlim Done = new(false);
        public int Count;
        public int Packed;
        public Exception? Error;
    }

    public PageDataWriter(VmcoreSource source, IDumpSink sink, CaptureOptions options, long pdStart, long dataStart, ulong total)
    {
        _source = source;
        _sink = sink;
        _options = options;
        _pdStart = pdStart;
        _dataStart = dataStart;
        _pageSize = source.PageSize;
        _total = total;
        _zeroExcluded = (options.Level & DumpLevel.Zero) != 0;
        var threads = Math.Clamp(options.Threads, 1, MaxWorkers);
        for (var i = 0; i < threads + 2; i++) // one being filled, one per thread compressing, one being written
            _free.Push(new Batch(_pageSize));
        _mine = new Compressing(_pageSize, options.Compression);
        _workers = new Thread[threads - 1];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Work) { IsBackground = true, Name = $"kdx capture worker {i}" };
            _workers[i].Start();
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

    /// <summary>Queues the dumpable pfns of one chunk (bit i of word i/64 is pfn first + i), in pfn order.</summary>
    public void AddChunk(ulong first, ulong count, ReadOnlySpan<ulong> dumpable)
    {
        var words = (int)((count + 63) / 64);
        for (var w = 0; w < words && !Failed; w++)
        {
            var bits = dumpable[w];
            while (bits != 0)
            {
                var b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                var batch = _filling ??= Acquire();
                batch.Pfns[batch.Count++] = first + (ulong)(w * 64 + b);
                if (batch.Count == BatchPages)
                    Submit();
            }
        }
    }

    /// <summary>Writes everything queued; call once at the end.</summary>
    public void Flush()
    {
        Submit();
        while (_pending.Count > 0)
            WriteHead();
        FlushDescs();
    }

    private Batch Acquire()
    {
        while (_free.Count == 0)
            WriteHead();
        var b = _free.Pop();
        b.Count = 0;
        b.Packed = 0;
        b.Error = null;
        b.Done.Reset();
        return b;
    }

    private void Submit()
    {
        if (_filling is not { Count: > 0 } b)
            return;
        _filling = null;
        _pending.Enqueue(b);
        _work.Add(b);
    }

    // Finishes the oldest batch (compressing queued ones meanwhile), writes it, and recycles it.
    private void WriteHead()
    {
        var b = _pending.Dequeue();
        while (!b.Done.IsSet)
        {
            if (_work.TryTake(out var queued))
                Run(queued, _mine);
            else
                b.Done.Wait();
        }
        try
        {
            if (b.Error is IOException or Kdx.Dump.DumpFormatException or Kdx.Dump.PageNotInDumpException)
                throw new IOException($"reading the input: {b.Error.Message}", b.Error);
            if (b.Error is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(b.Error);
            if (!Failed)
                WriteBatch(b);
        }
        finally
        {
            _free.Push(b);
        }
    }

    // One thread's buffers and compressor.
    private sealed class Compressing(int pageSize, KdumpFlags method) : IDisposable
    {
        public readonly byte[] Input = new byte[ReadRunPages * pageSize];
        public readonly PageCompressor Compressor = new(method);
        public void Dispose() => Compressor.Dispose();
    }

    private void Work()
    {
        using var mine = new Compressing(_pageSize, _options.Compression);
        foreach (var b in _work.GetConsumingEnumerable())
            Run(b, mine);
    }

    private void Run(Batch b, Compressing c)
    {
        try
        {
            Compress(b, c);
        }
        catch (Exception e)
        {
            b.Error = e; // handed to the writing thread, which reports it
        }
        b.Done.Set();
    }

    // Takes the batch's pages run by run (consecutive pfns: one view or one read) and compresses
    // each into the batch's packed buffer.
    private void Compress(Batch b, Compressing c)
    {
        var ps = _pageSize;
        var packed = 0;
        for (var i = 0; i < b.Count;)
        {
            var run = 1;
            while (i + run < b.Count && run < ReadRunPages && b.Pfns[i + run] == b.Pfns[i] + (ulong)run)
                run++;
            // /proc/vmcore's pages are compressed where they are mapped; a file's are read first
            if (!_source.TryPinPages(b.Pfns[i], run, out var pages, out var pin))
            {
                _source.ReadPages(b.Pfns[i], run, c.Input);
                pages = c.Input.AsSpan(0, run * ps);
            }
            try
            {
                packed = CompressRun(b, i, pages, c.Compressor, packed);
                i += run;
            }
            finally
            {
                if (pin is not null)
                    _source.Unpin(pin);
            }
        }
        b.Packed = packed;
    }

    // Compresses the pages of one run (batch entries from index on) after the packed bytes; returns the new packed length.
    private int CompressRun(Batch b, int index, ReadOnlySpan<byte> pages, PageCompressor compressor, int packed)
    {
        var ps = _pageSize;
        for (var k = 0; k < pages.Length / ps; k++)
        {
            var page = pages.Slice(k * ps, ps);
            if (_zeroExcluded && !page.ContainsAnyExcept((byte)0))
            {
                b.Lengths[index + k] = -1;
                continue;
            }
            var (flags, n) = compressor.Compress(page, b.Data.AsSpan(packed));
            b.Flags[index + k] = flags;
            b.Lengths[index + k] = n;
            packed += n;
        }
        return packed;
    }

    private void WriteBatch(Batch b)
    {
        Guarded(() => _sink.Write(End, b.Data.AsSpan(0, b.Packed)));
        if (Failed)
            return;
        var offset = End;
        for (var i = 0; i < b.Count; i++)
        {
            if (_descCount == DescBufferEntries)
            {
                FlushDescs();
                if (Failed)
                    return;
            }
            var d = _descs.AsSpan(_descCount++ * PageDescSize, PageDescSize);
            d.Clear();
            var n = b.Lengths[i];
            if (n < 0)
            {
                BinaryPrimitives.WriteInt64LittleEndian(d, _dataStart);            // offset: the shared zero page
                BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)_pageSize); // size
                ZeroPages++;
                continue;
            }
            BinaryPrimitives.WriteInt64LittleEndian(d, offset);
            BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)n);
            BinaryPrimitives.WriteUInt32LittleEndian(d[12..], (uint)b.Flags[i]);
            offset += n;
        }
        End = offset;
        _options.Progress?.Invoke(DescIndex + (ulong)_descCount, _total);
    }

    // Descriptors follow the data they point at: only data already written is described.
    private void FlushDescs()
    {
        if (_descCount == 0 || Failed)
            return;
        Guarded(() => _sink.Write(_pdStart + (long)DescIndex * PageDescSize, _descs.AsSpan(0, _descCount * PageDescSize)));
        if (Failed)
            return;
        DescIndex += (ulong)_descCount;
        WrittenPages += (ulong)_descCount;
        _descCount = 0;
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

    public void Dispose()
    {
        _work.CompleteAdding();
        foreach (var t in _workers)
            t.Join();
        _work.Dispose();
        _mine.Dispose();
        foreach (var b in _free)
            b.Done.Dispose();
    }
}
