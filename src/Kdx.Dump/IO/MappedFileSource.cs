// A byte source over a read-only memory-mapped file: dumps are many gigabytes and read at random,
// so the OS page cache does the buffering and a read is one memcpy.
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Kdx.Dump.IO;

public sealed unsafe class MappedFileSource : IByteSource
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private bool _disposed;

    public MappedFileSource(string path)
    {
        Name = path;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Length = stream.Length;
        if (Length == 0)
            return; // an empty file cannot be mapped; every read returns 0 bytes
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    public string Name { get; }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length || _view is null)
            return 0;
        ObjectDisposedException.ThrowIf(_disposed, this);
        var n = (int)Math.Min(destination.Length, Length - offset);
        new ReadOnlySpan<byte>(_base + offset, n).CopyTo(destination);
        return n;
    }

    public bool TryGetSpan(long offset, int length, out ReadOnlySpan<byte> span)
    {
        if (offset < 0 || length < 0 || offset > Length - length || _view is null)
        {
            span = default;
            return false;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        span = new ReadOnlySpan<byte>(_base + offset, length);
        return true;
    }

    // Pages of a read-only shared mapping count in the process's RSS once touched; MADV_DONTNEED
    // unmaps them from this process (a later read faults them back in from the page cache).
    public void Evict(long offset, long length)
    {
        if (_view is null || _disposed || !OperatingSystem.IsLinux())
            return;
        var start = Math.Max(offset, 0);
        var end = Math.Min(offset + length, Length);
        // Only whole OS pages inside the range: the pages at its edges may hold a neighbour's data.
        long mask = Environment.SystemPageSize - 1;
        var address = (long)_base;
        var first = (address + start + mask) & ~mask;
        var last = (address + end) & ~mask;
        if (last > first)
            _ = Madvise((nint)first, (nuint)(last - first), MadvDontNeed);
    }

    private const int MadvDontNeed = 4;

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>
    /// The mapped bytes at [offset, offset+length) without copying, for parsers that walk large
    /// file regions (DWARF sections of a debug vmlinux). Valid until the source is disposed.
    /// </summary>
    public ReadOnlyMemory<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
            throw new DumpFormatException(Name, offset, $"{length} bytes at 0x{offset:x} run past the end of the file (length 0x{Length:x})");
        return length == 0 ? ReadOnlyMemory<byte>.Empty : new MappedRegion(_base + offset, length).Memory;
    }

    /// <summary>A Memory&lt;byte&gt; over part of the mapping; the mapping itself is owned by the source.</summary>
    private sealed class MappedRegion(byte* pointer, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
