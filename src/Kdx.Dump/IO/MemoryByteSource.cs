// A byte source over an array: tests, fuzzing, and small files.
namespace Kdx.Dump.IO;

public sealed class MemoryByteSource(string name, ReadOnlyMemory<byte> data) : IByteSource
{
    public string Name { get; } = name;

    public long Length => data.Length;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= data.Length)
            return 0;
        var n = (int)Math.Min(destination.Length, data.Length - offset);
        data.Span.Slice((int)offset, n).CopyTo(destination);
        return n;
    }

    public void Dispose()
    {
    }
}
