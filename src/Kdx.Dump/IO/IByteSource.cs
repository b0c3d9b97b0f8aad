// Random access to the bytes of a dump container: a mapped file, an in-memory buffer, or the
// logical file inside a flattened stream. Every format parser reads through this seam and never
// through Stream.Position, so one parser serves plain and flattened files alike.
namespace Kdx.Dump.IO;

public interface IByteSource : IDisposable
{
    /// <summary>Name used in error messages (the file path).</summary>
    string Name { get; }

    /// <summary>Logical length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Copies bytes at <paramref name="offset"/> into <paramref name="destination"/> and returns how
    /// many were copied: fewer than asked only at the end of the data (or, in a flattened stream,
    /// where no record wrote the bytes: those read as zero, as they would in the rebuilt file).
    /// </summary>
    int ReadAt(long offset, Span<byte> destination);

    /// <summary>
    /// A view of <paramref name="length"/> bytes at <paramref name="offset"/> without copying, when
    /// the source can give one (a mapped file; a flattened record that holds the whole range).
    /// The view is valid while the source is open.
    /// </summary>
    bool TryGetSpan(long offset, int length, out ReadOnlySpan<byte> span)
    {
        span = default;
        return false;
    }

    /// <summary>
    /// Says that <paramref name="length"/> bytes at <paramref name="offset"/> will not be read again
    /// soon, so a mapping can hand their memory back (the OS keeps them in its page cache). A scan of
    /// the whole file calls this behind itself to stay within bounded memory.
    /// </summary>
    void Evict(long offset, long length)
    {
    }
}

public static class ByteSourceExtensions
{
    /// <summary>Reads exactly destination.Length bytes or throws <see cref="DumpFormatException"/> naming what was being read.</summary>
    public static void ReadExactly(this IByteSource source, long offset, Span<byte> destination, string what)
    {
        if (offset < 0 || offset > source.Length || destination.Length > source.Length - offset)
            throw new DumpFormatException(source.Name, offset, $"{what} ({destination.Length} bytes) runs past the end of the file (length 0x{source.Length:x})");
        var n = source.ReadAt(offset, destination);
        if (n != destination.Length)
            throw new DumpFormatException(source.Name, offset + n, $"{what}: short read");
    }

    /// <summary>Reads a block the file says is <paramref name="length"/> bytes long, after checking it fits the file and <paramref name="limit"/>.</summary>
    public static byte[] ReadBlock(this IByteSource source, long offset, ulong length, long limit, string what)
    {
        if (length > (ulong)limit)
            throw new DumpFormatException(source.Name, offset, $"{what} claims {length} bytes, more than the limit of {limit}");
        var buffer = new byte[(int)length];
        source.ReadExactly(offset, buffer, what);
        return buffer;
    }
}
