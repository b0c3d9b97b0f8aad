// A capture input file, read in one of two ways, both thread-safe (the compression workers read
// pages through it at once) and neither growing the resident set with the crashed machine's RAM:
// - /proc/vmcore (any file under /proc) is memory-mapped through a few small windows: read() of
//   /proc/vmcore copies old memory a page at a time and is several times slower, and mapping all
//   of it would put every page read into the resident set (mapped pages count once touched), so at
//   most MaxWindows windows of at most WindowSize bytes are mapped at a time, the least recently
//   used unmapped first. A window never leaves the segment (PT_LOAD) it maps, as makedumpfile's
//   mappings do not: a capture kernel refuses (EAGAIN) a mapping of /proc/vmcore that runs from
//   the ELF headers into the kernel-text segment while another window maps the same physical pages
//   through the RAM segment. Bytes outside every segment (headers, notes) are read with pread, and
//   if the kernel refuses a mapping anyway, everything from then on is, as makedumpfile falls back
//   to read();
// - any other file (a dump in a file system, read again) is read with pread: the kernel copies from
//   its page cache, with no mapping to fault in, tear down and shoot down on the other CPUs, and
//   nothing added to the resident set.
using System.IO.MemoryMappedFiles;
using Kdx.Dump.IO;
using Microsoft.Win32.SafeHandles;

namespace Kdx.Capture;

public sealed unsafe class CaptureFileSource : IByteSource
{
    /// <summary>Bytes per mapped window at most (a multiple of every page size).</summary>
    public const long WindowSize = 2L << 20;
    /// <summary>Windows mapped at most at once (more readers than this wait).</summary>
    public const int MaxWindows = 8;
    private const long MapAlign = 4096; // mmap offsets are page aligned; /proc/vmcore's segments are

    private readonly MemoryMappedFile? _file;   // mapped mode
    private readonly SafeFileHandle _handle;    // pread: every read in pread mode, the rest in mapped mode
    private readonly Window?[] _windows = new Window?[MaxWindows];
    private readonly object _lock = new();
    private (long Start, long End)[]? _segments; // file ranges windows may map, sorted; null: none yet (all pread)
    private long _clock;
    private bool _disposed;

    private sealed class Window(long start, long length, MemoryMappedViewAccessor view, byte* pointer)
    {
        public readonly long Start = start;
        public readonly long Length = length;
        public readonly MemoryMappedViewAccessor View = view;
        public readonly byte* Pointer = pointer;
        public int Users;
        public long LastUse;
        public bool Holds(long offset) => offset >= Start && offset - Start < Length;
    }

    public CaptureFileSource(string path) : this(path, IsProcFile(path))
    {
    }

    /// <summary>Opens <paramref name="path"/> mapped (as /proc/vmcore is) or read with pread.</summary>
    public CaptureFileSource(string path, bool mapped)
    {
        Name = path;
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Length = RandomAccess.GetLength(_handle);
        if (!mapped || Length == 0)
            return;
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    /// <summary>True when the input is read through mapped windows (a file under /proc, such as /proc/vmcore).</summary>
    public bool IsMapped => _file is not null && MappingFailure is null;

    /// <summary>Why the kernel refused a mapping, after which every read is a pread; null while mapping works.</summary>
    public string? MappingFailure { get; private set; }

    public string Name { get; }
    public long Length { get; }

    /// <summary>
    /// The file ranges windows may map (an ELF core's PT_LOAD data): no window spans two of them or
    /// covers bytes outside them; those bytes are read with pread, as is everything before this is
    /// called (the ELF headers and notes, while the dump is opened).
    /// </summary>
    public void MapOnly(IEnumerable<(long Start, long End)> ranges)
    {
        lock (_lock)
            _segments = [.. ranges.Where(r => r.End > r.Start).OrderBy(r => r.Start)];
    }

    private static bool IsProcFile(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            if (File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target)
                full = target.FullName;
        }
        catch (IOException)
        {
        }
        return full.StartsWith("/proc/", StringComparison.Ordinal);
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length)
            return 0;
        var total = (int)Math.Min(destination.Length, Length - offset);
        var done = 0;
        while (done < total)
        {
            var at = offset + done;
            var w = IsMapped ? Acquire(at) : null;
            if (w is null)
            {
                // not mappable: read up to the next mappable range (or all of it without mapping)
                var n = (int)Math.Min(total - done, UnmappedRun(at));
                var got = ReadFile(at, destination.Slice(done, n));
                done += got;
                if (got < n)
                    break; // the file shrank under us: a short read, which the caller reports
                continue;
            }
            try
            {
                var n = (int)Math.Min(total - done, w.Length - (at - w.Start));
                new ReadOnlySpan<byte>(w.Pointer + (at - w.Start), n).CopyTo(destination.Slice(done, n));
                done += n;
            }
            finally
            {
                Release(w);
            }
        }
        return done;
    }

    /// <summary>
    /// In mapped mode, a view of <paramref name="length"/> bytes at <paramref name="offset"/> straight
    /// from the mapping, without a copy, when one window holds them all; the window stays mapped
    /// until <see cref="Unpin"/> is called with <paramref name="pin"/>. False in pread mode, when the
    /// bytes straddle two windows or when the kernel refuses the mapping (read them with ReadAt then).
    /// </summary>
    public bool TryPin(long offset, int length, out ReadOnlySpan<byte> view, out object? pin)
    {
        view = default;
        pin = null;
        if (!IsMapped || offset < 0 || length <= 0 || offset + length > Length)
            return false;
        var (start, end) = WindowAt(offset);
        if (end < 0 || offset + length > end)
            return false;
        var w = Acquire(offset);
        if (w is null)
            return false;
        view = new ReadOnlySpan<byte>(w.Pointer + (offset - w.Start), length);
        pin = w;
        return true;
    }

    /// <summary>Lets the window of a <see cref="TryPin"/> view be unmapped again.</summary>
    public void Unpin(object pin) => Release((Window)pin);

    private void Release(Window w)
    {
        lock (_lock)
        {
            if (--w.Users == 0)
                Monitor.PulseAll(_lock);
        }
    }

    // The window that would hold offset: [start, end), end -1 when offset is in no mappable range.
    private (long Start, long End) WindowAt(long offset)
    {
        if (_segments is not { } segs)
            return (0, -1);
        var i = Array.BinarySearch(segs, (offset, long.MaxValue)) is var k && k < 0 ? ~k - 1 : k;
        if (i < 0 || offset >= segs[i].End)
            return (0, -1);
        var aligned = offset / WindowSize * WindowSize;
        return (Math.Max(aligned, segs[i].Start / MapAlign * MapAlign), Math.Min(aligned + WindowSize, Math.Min(segs[i].End, Length)));
    }

    // Bytes from offset on that no window maps (up to the next mappable range).
    private long UnmappedRun(long offset)
    {
        if (!IsMapped || _segments is not { } segs)
            return Length - offset;
        foreach (var (start, _) in segs)
            if (start / MapAlign * MapAlign > offset)
                return start / MapAlign * MapAlign - offset;
        return Length - offset;
    }

    private int ReadFile(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var done = 0;
        while (done < destination.Length)
        {
            var n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n == 0)
                break;
            done += n;
        }
        return done;
    }

    // The window holding offset, mapped if need be (waiting while every window is in use), or null
    // when offset is in no mappable range or the kernel refuses the mapping.
    private Window? Acquire(long offset)
    {
        lock (_lock)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var (start, end) = WindowAt(offset);
                if (end < 0 || MappingFailure is not null)
                    return null;
                if (TryAcquire(offset, start, end, out var w))
                    return w;
                Monitor.Wait(_lock); // every window is being read from: wait for one to be released
            }
        }
    }

    // Under _lock: true with the window holding offset (null if the mapping was refused), false when all are in use.
    private bool TryAcquire(long offset, long start, long end, out Window? window)
    {
        window = null;
        int free = -1, victim = -1;
        for (var i = 0; i < _windows.Length; i++)
        {
            var w = _windows[i];
            if (w is null)
            {
                free = free < 0 ? i : free;
                continue;
            }
            if (w.Holds(offset))
            {
                w.Users++;
                w.LastUse = ++_clock;
                window = w;
                return true;
            }
            if (w.Users == 0 && (victim < 0 || w.LastUse < _windows[victim]!.LastUse))
                victim = i;
        }
        var slot = free >= 0 ? free : victim;
        if (slot < 0)
            return false;
        if (_windows[slot] is { } old)
        {
            _windows[slot] = null;
            Unmap(old);
        }
        MemoryMappedViewAccessor view;
        try
        {
            view = _file!.CreateViewAccessor(start, end - start, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            MappingFailure = $"mmap of {Name} at 0x{start:x} refused ({e.Message}); reading it with read() instead";
            return true;
        }
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        window = new Window(start, end - start, view, p + view.PointerOffset) { Users = 1, LastUse = ++_clock };
        _windows[slot] = window;
        return true;
    }

    private static void Unmap(Window w)
    {
        w.View.SafeMemoryMappedViewHandle.ReleasePointer();
        w.View.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            for (var i = 0; i < _windows.Length; i++)
                if (_windows[i] is { } w)
                {
                    Unmap(w);
                    _windows[i] = null;
                }
            _file?.Dispose();
            _handle.Dispose();
        }
    }
}
