// A capture input file, read in one of two ways, both thread-safe (the compression workers read
// pages through it at once) and neither growing the resident set with the crashed machine's RAM:
// - /proc/vmcore (any file under /proc) is memory-mapped through a few small windows: read() of
//   /proc/vmcore copies old memory a page at a time and is several times slower, and mapping all
//   of it would put every page read into the resident set (mapped pages count once touched), so at
//   most MaxWindows windows of WindowSize bytes are mapped at a time, the least recently used
//   unmapped first;
// - any other file (a dump in a file system, read again) is read with pread: the kernel copies from
//   its page cache, with no mapping to fault in, tear down and shoot down on the other CPUs, and
//   nothing added to the resident set.
using System.IO.MemoryMappedFiles;
using Kdx.Dump.IO;

namespace Kdx.Capture;

public sealed unsafe class CaptureFileSource : IByteSource
{
    /// <summary>Bytes per mapped window (a multiple of every page size).</summary>
    public const long WindowSize = 2L << 20;
    /// <summary>Windows mapped at most at once (more readers than this wait).</summary>
    public const int MaxWindows = 8;

    private readonly MemoryMappedFile? _file;          // mapped mode (/proc)
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle? _handle; // pread mode
    private readonly Window?[] _windows = new Window?[MaxWindows];
    private readonly object _lock = new();
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
    }

    public CaptureFileSource(string path) : this(path, IsProcFile(path))
    {
    }

    /// <summary>Opens <paramref name="path"/> mapped (as /proc/vmcore is) or read with pread.</summary>
    public CaptureFileSource(string path, bool mapped)
    {
        Name = path;
        if (mapped)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Length = stream.Length;
            if (Length > 0)
                _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            return;
        }
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Length = RandomAccess.GetLength(_handle);
    }

    /// <summary>True when the input is read through mapped windows (a file under /proc, such as /proc/vmcore).</summary>
    public bool IsMapped => _handle is null;

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

    public string Name { get; }
    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length)
            return 0;
        var total = (int)Math.Min(destination.Length, Length - offset);
        if (_handle is not null)
            return ReadFile(offset, destination[..total]);
        if (_file is null)
            return 0;
        var done = 0;
        while (done < total)
        {
            var w = Acquire(offset + done);
            try
            {
                var at = offset + done - w.Start;
                var n = (int)Math.Min(total - done, w.Length - at);
                new ReadOnlySpan<byte>(w.Pointer + at, n).CopyTo(destination.Slice(done, n));
                done += n;
            }
            finally
            {
                Release(w);
            }
        }
        return total;
    }

    /// <summary>
    /// In mapped mode, a view of <paramref name="length"/> bytes at <paramref name="offset"/> straight
    /// from the mapping, without a copy, when one window holds them all; the window stays mapped
    /// until <see cref="Unpin"/> is called with <paramref name="pin"/>. False in pread mode or when
    /// the bytes straddle two windows (read them with ReadAt then).
    /// </summary>
    public bool TryPin(long offset, int length, out ReadOnlySpan<byte> view, out object? pin)
    {
        view = default;
        pin = null;
        if (_file is null || offset < 0 || length <= 0 || offset + length > Length
            || offset / WindowSize != (offset + length - 1) / WindowSize)
            return false;
        var w = Acquire(offset);
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

    private int ReadFile(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var done = 0;
        while (done < destination.Length)
        {
            var n = RandomAccess.Read(_handle!, destination[done..], offset + done);
            if (n == 0)
                break; // the file shrank under us: a short read, which the caller reports
            done += n;
        }
        return done;
    }

    private Window Acquire(long offset)
    {
        lock (_lock)
        {
            while (true)
            {
                if (TryAcquire(offset) is { } w)
                    return w;
                Monitor.Wait(_lock); // every window is being copied from: wait for one to be released
            }
        }
    }

    // Under _lock: the window holding offset, mapped if need be, or null when all are in use.
    private Window? TryAcquire(long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var start = offset / WindowSize * WindowSize;
        int free = -1, victim = -1;
        for (var i = 0; i < _windows.Length; i++)
        {
            var w = _windows[i];
            if (w is null)
            {
                free = free < 0 ? i : free;
                continue;
            }
            if (w.Start == start)
            {
                w.Users++;
                w.LastUse = ++_clock;
                return w;
            }
            if (w.Users == 0 && (victim < 0 || w.LastUse < _windows[victim]!.LastUse))
                victim = i;
        }
        var slot = free >= 0 ? free : victim;
        if (slot < 0)
            return null;
        if (_windows[slot] is { } old)
            Unmap(old);
        var length = Math.Min(WindowSize, Length - start);
        var view = _file!.CreateViewAccessor(start, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        var window = new Window(start, length, view, p + view.PointerOffset) { Users = 1, LastUse = ++_clock };
        _windows[slot] = window;
        return window;
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
            _handle?.Dispose();
        }
    }
}
