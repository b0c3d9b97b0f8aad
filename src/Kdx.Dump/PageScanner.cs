// Reading every page a dump stores, in parallel: each stored page is decompressed (kdump) or
// read (ELF) into a per-worker buffer and must come back as exactly one page. This is what
// `kdx verify` runs, and how fast kdx gets through a whole dump. The pfns are cut into chunks
// handed out in order, so the workers move through the file together; each worker owns its
// buffers (no allocation per page) and tells the file which bytes it is done with, so a
// memory-mapped dump of any size is read in bounded memory.
namespace Kdx.Dump;

/// <summary>A stored page whose data could not be read back: where it is in the file and why.</summary>
public sealed record DamagedPage(ulong Pfn, string File, long Offset, string Problem);

public sealed record PageScanOptions
{
    /// <summary>Workers (default: the CPUs available).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Damaged pages kept for the report (lowest pfns first); all of them are counted.</summary>
    public int MaxDamagedListed { get; init; } = 100;

    /// <summary>Called after each chunk with (pfns done, pfns in all), from a worker thread.</summary>
    public Action<ulong, ulong>? Progress { get; init; }

    public CancellationToken Cancellation { get; init; }
}

/// <summary>
/// What a scan found. <see cref="Pages"/> were read (and decompressed) whole;
/// <see cref="ZeroPages"/> are the kdump shared zero page (nothing to read).
/// </summary>
public sealed record PageScanResult(
    ulong Pages, ulong ZeroPages, ulong Excluded, ulong Holes, ulong Lost, ulong Damaged,
    ulong PageBytes, ulong StoredBytes, IReadOnlyList<DamagedPage> DamagedPages)
{
    public bool IsIntact => Damaged == 0 && Lost == 0;
}

public static class PageScanner
{
    /// <summary>Pfns per unit of work: 16 MiB of the dumped machine's memory at 4 KiB pages.</summary>
    public const ulong ChunkPages = 4096;

    // Damaged pages remembered before the report is cut to MaxDamagedListed; bounds memory
    // when a whole file is garbage.
    private const int DamageMemoryCap = 1 << 16;

    public static PageScanResult Scan(IDumpFile dump, PageScanOptions? options = null)
    {
        options ??= new PageScanOptions();
        if (options.Threads is < 1 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(options), "threads must be 1-1024");
        if (dump is not DumpFileBase file)
            throw new ArgumentException("not a dump opened by DumpFile.Open", nameof(dump));

        var chunks = new List<(DumpFileBase File, ulong Start, ulong End)>();
        ulong total = 0;
        foreach (var (part, start, end) in file.ScanRanges())
        {
            for (var s = start; s < end; s += Math.Min(ChunkPages, end - s))
                chunks.Add((part, s, s + Math.Min(ChunkPages, end - s)));
            total += end - start;
        }

        var shared = new SharedState(options.MaxDamagedListed);
        var next = -1;
        ulong done = 0;
        var workers = new PageScanWorker[Math.Min(options.Threads, Math.Max(chunks.Count, 1))];
        Exception? failure = null;
        void Work(PageScanWorker w)
        {
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < chunks.Count && !options.Cancellation.IsCancellationRequested)
                {
                    var (part, start, end) = chunks[i];
                    part.ScanChunk(start, end, w);
                    var d = Interlocked.Add(ref done, end - start);
                    options.Progress?.Invoke(d, total);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                Interlocked.Exchange(ref next, chunks.Count); // stop the others
            }
        }

        var threads = new Thread[workers.Length - 1];
        for (var t = 0; t < workers.Length; t++)
            workers[t] = new PageScanWorker(file.PageSize, shared);
        for (var t = 0; t < threads.Length; t++)
        {
            var w = workers[t + 1];
            threads[t] = new Thread(() => Work(w)) { IsBackground = true, Name = $"kdx-scan-{t + 1}" };
            threads[t].Start();
        }
        Work(workers[0]);
        foreach (var t in threads)
            t.Join();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        options.Cancellation.ThrowIfCancellationRequested();

        ulong pages = 0, zero = 0, excluded = 0, holes = 0, lost = 0, bytes = 0, stored = 0;
        foreach (var w in workers)
        {
            pages += w.Pages;
            zero += w.ZeroPages;
            excluded += w.Excluded;
            holes += w.Holes;
            lost += w.Lost;
            bytes += w.PageBytes;
            stored += w.StoredBytes;
        }
        // Pfns past the ranges the parts cover (a split part opened alone) are holes.
        holes += file.MaxPfn - Math.Min(file.MaxPfn, total);
        return new PageScanResult(pages, zero, excluded, holes, lost, shared.DamagedCount, bytes, stored, shared.Listed());
    }

    internal sealed class SharedState(int listed)
    {
        private readonly List<DamagedPage> _damaged = [];
        private ulong _count;

        public ulong DamagedCount => Interlocked.Read(ref _count);

        public void Add(DamagedPage page)
        {
            Interlocked.Increment(ref _count);
            lock (_damaged)
            {
                if (_damaged.Count < Math.Max(listed, DamageMemoryCap))
                    _damaged.Add(page);
            }
        }

        public IReadOnlyList<DamagedPage> Listed()
        {
            lock (_damaged)
            {
                _damaged.Sort(static (a, b) => a.Pfn.CompareTo(b.Pfn));
                return _damaged.Take(listed).ToArray();
            }
        }
    }
}

/// <summary>One scanning thread's buffers and counts; formats add to it from ScanChunk.</summary>
internal sealed class PageScanWorker(int pageSize, PageScanner.SharedState shared)
{
    /// <summary>Where a page is decompressed or copied to.</summary>
    public readonly byte[] Page = new byte[pageSize];

    /// <summary>For compressed bytes when the source cannot give a direct view of them.</summary>
    public readonly byte[] Stored = new byte[pageSize];

    public ulong Pages, ZeroPages, Excluded, Holes, Lost, PageBytes, StoredBytes;

    public void Read(int storedBytes)
    {
        Pages++;
        PageBytes += (ulong)Page.Length;
        StoredBytes += (ulong)storedBytes;
    }

    public void Damaged(ulong pfn, DumpFormatException e) => shared.Add(new DamagedPage(pfn, e.File, e.Offset, e.Problem));
}
