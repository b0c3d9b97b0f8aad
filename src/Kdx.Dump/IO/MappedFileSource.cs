// A byte source over a read-only memory-mapped file: dumps are many gigabytes and read at random,
// so the OS page cache does the buffering and a read is one memcpy.
using System.IO.MemoryMappedFiles;

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
