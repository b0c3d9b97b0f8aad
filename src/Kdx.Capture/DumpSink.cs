// Where a capture writes: a regular file written at offsets, or makedumpfile's flattened stream
// (-F) of (offset, size, data) records for pipes and ssh. Write failures (ENOSPC, EIO) surface as
// IOException so the writer can finish a valid dump marked incomplete. Like makedumpfile, a file
// is not fsync'ed: the kdump scripts of RHEL and Debian run sync after the core collector, and
// waiting for the disk inside the collector only made it slower.
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Kdx.Capture;

public interface IDumpSink : IDisposable
{
    void Write(long offset, ReadOnlySpan<byte> data);
    /// <summary>Ends the output (flattened end marker, flush to the file or pipe).</summary>
    void Complete();
}

public sealed class FileSink(string path) : IDumpSink
{
    private readonly SafeFileHandle _handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);

    public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(_handle, data, offset);
    public void Complete() { }
    public void Dispose() => _handle.Dispose();
}

public sealed class FlattenedSink(Stream stream) : IDumpSink
{
    private readonly Stream _output = new BufferedStream(stream, 1 << 20);
    /// <summary>The flattened header block: "makedumpfile", type 1, version 1, big-endian, padded to 4096.</summary>
    public const int HeaderSize = 4096;
    private readonly byte[] _record = new byte[16];
    private bool _started;

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!_started)
        {
            var header = new byte[HeaderSize];
            "makedumpfile"u8.CopyTo(header);
            BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(16), 1); // type: flattened
            BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(24), 1); // version
            _output.Write(header);
            _started = true;
        }
        if (data.IsEmpty)
            return;
        BinaryPrimitives.WriteInt64BigEndian(_record, offset);
        BinaryPrimitives.WriteInt64BigEndian(_record.AsSpan(8), data.Length);
        _output.Write(_record);
        _output.Write(data);
    }

    public void Complete()
    {
        Write(0, default);
        BinaryPrimitives.WriteInt64BigEndian(_record, -1);
        BinaryPrimitives.WriteInt64BigEndian(_record.AsSpan(8), -1);
        _output.Write(_record);
        _output.Flush();
    }

    public void Dispose() => _output.Dispose();
}
