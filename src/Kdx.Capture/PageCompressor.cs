// One worker's page compressor for the kdump-compressed methods (zlib at best speed with the zlib
// wrapper, LZO1X-1, snappy, zstd level 1 — what makedumpfile writes). zlib and LZO go through the
// system's libz and liblzo2 when present (SystemCodecs: makedumpfile's own libraries, so the same
// bytes), else through .NET's zlib and kdx's LZO. Not thread-safe: one per worker. A page that
// does not shrink is stored raw, as the format asks.
using System.IO.Compression;
using Kdx.Dump.Compression;

namespace Kdx.Capture;

public sealed class PageCompressor : IDisposable
{
    // .NET's zlib is zlib-ng, whose level 1 keeps static Huffman trees only (~10% larger pages than
    // classic zlib's Z_BEST_SPEED, which makedumpfile uses). Measured on the lab's 384 MiB dump:
    // level 2 +0.8%/+2.4%, level 3 +0.3%/+1.1%, level 4 +0.0%/+0.3% (-d 1/-d 31) against makedumpfile.
    private static readonly ZLibCompressionOptions s_zlibOptions = new() { CompressionLevel = 3 };

    private readonly KdumpFlags _method;
    private readonly SystemCodecs.Deflater? _deflater;
    private readonly byte[]? _lzoWork;
    private readonly Lzo1xCompressor? _lzo;
    private readonly ZstdSharp.Compressor? _zstd;
    private readonly SpanStream? _zlibOutput;

    public PageCompressor(KdumpFlags method)
    {
        _method = method;
        switch (method)
        {
            case KdumpFlags.Lzo when SystemCodecs.HasLzo: _lzoWork = new byte[SystemCodecs.LzoWorkMemory]; break;
            case KdumpFlags.Lzo: _lzo = new Lzo1xCompressor(); break;
            case KdumpFlags.Zstd: _zstd = new ZstdSharp.Compressor(1); break;
            case KdumpFlags.Zlib when SystemCodecs.HasZlib: _deflater = new SystemCodecs.Deflater(); break;
            case KdumpFlags.Zlib: _zlibOutput = new SpanStream(); break;
        }
    }

    /// <summary>Which code compresses: "system libz", "system liblzo2" or kdx's own (for messages and the benchmark).</summary>
    public static string Implementation(KdumpFlags method) => method switch
    {
        KdumpFlags.Zlib => SystemCodecs.HasZlib ? "system libz" : ".NET zlib-ng",
        KdumpFlags.Lzo => SystemCodecs.HasLzo ? "system liblzo2" : "kdx LZO1X-1",
        KdumpFlags.Snappy => "Snappier",
        KdumpFlags.Zstd => "ZstdSharp",
        _ => "none",
    };

    /// <summary>Room a compressed page may need beyond the page itself.</summary>
    public static int MaxOutput(int pageSize) => Lzo1xCompressor.MaxCompressedLength(pageSize) + pageSize / 8 + 128;

    /// <summary>Compresses <paramref name="page"/>; returns the flag and length stored (raw when it would not shrink).</summary>
    public (KdumpFlags Flags, int Length) Compress(ReadOnlySpan<byte> page, Span<byte> output)
    {
        var n = _method switch
        {
            KdumpFlags.Zlib => _deflater?.Compress(page, output) ?? Zlib(page, output),
            KdumpFlags.Lzo => _lzoWork is not null ? SystemCodecs.Lzo1x1(page, output, _lzoWork) : _lzo!.Compress(page, output),
            KdumpFlags.Snappy => Snappier.Snappy.Compress(page, output),
            KdumpFlags.Zstd => _zstd!.Wrap(page, output),
            _ => int.MaxValue,
        };
        if (n < page.Length)
            return (_method, n);
        page.CopyTo(output);
        return (KdumpFlags.None, page.Length);
    }

    private int Zlib(ReadOnlySpan<byte> page, Span<byte> output)
    {
        var sink = _zlibOutput!;
        sink.Reset();
        using (var z = new ZLibStream(sink, s_zlibOptions, leaveOpen: true))
            z.Write(page);
        var written = sink.Written;
        if (written.Length > output.Length)
            return int.MaxValue;
        written.CopyTo(output);
        return written.Length;
    }

    public void Dispose()
    {
        _zstd?.Dispose();
        _deflater?.Dispose();
    }

    // A growable write-only stream reused for every page, so zlib output costs no allocation.
    private sealed class SpanStream : Stream
    {
        private byte[] _buffer = new byte[16384];
        private int _length;

        public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);
        public void Reset() => _length = 0;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_length + buffer.Length > _buffer.Length)
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + buffer.Length));
            buffer.CopyTo(_buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
