// LZO1X-1 compression: the stream format Lzo1x.Decompress (and liblzo2's lzo1x_decompress_safe,
// which makedumpfile and crash use) reads. Greedy matching through a 16 Ki-entry hash of 4-byte
// sequences, as the "-1" speed level does; written from the format description.
using System.Buffers.Binary;

namespace Kdx.Dump.Compression;

public sealed class Lzo1xCompressor
{
    private const int DictBits = 14;
    private const int M2MaxLen = 8, M3MaxLen = 33, M4MaxLen = 9;
    private const int M2MaxOffset = 0x0800, M3MaxOffset = 0x4000, M4MaxOffset = 0xbfff;
    private const byte M3Marker = 32, M4Marker = 16;

    private readonly ushort[] _dict = new ushort[1 << DictBits];

    /// <summary>The worst-case output size for <paramref name="length"/> input bytes (liblzo2's bound).</summary>
    public static int MaxCompressedLength(int length) => length + length / 16 + 64 + 3;

    /// <summary>Compresses <paramref name="source"/> (at most 64 KiB) into <paramref name="destination"/> and returns the length written.</summary>
    public int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length > 0x10000)
            throw new ArgumentException("LZO1X-1 blocks here are at most 64 KiB", nameof(source));
        if (destination.Length < MaxCompressedLength(source.Length))
            throw new ArgumentException("destination is smaller than the worst-case size", nameof(destination));
        var op = 0;
        var literalStart = 0;
        if (source.Length > 20)
            (op, literalStart) = CompressCore(source, destination);
        var t = source.Length - literalStart;
        if (t > 0)
            op = EmitLiterals(source.Slice(literalStart, t), destination, op);
        destination[op++] = M4Marker | 1; // end of stream: an M4 match of distance 0
        destination[op++] = 0;
        destination[op++] = 0;
        return op;
    }

    private (int Op, int LiteralStart) CompressCore(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        Array.Clear(_dict);
        var op = 0;
        var ii = 0;            // first literal not yet emitted
        var ip = 4;            // the first match needs 4 literals before it (the stream's first opcode)
        var ipEnd = src.Length - 20;
        while (ip < ipEnd)
        {
            var dv = BinaryPrimitives.ReadUInt32LittleEndian(src[ip..]);
            var h = (int)((dv * 0x1824429dU) >> (32 - DictBits));
            var mPos = _dict[h];
            _dict[h] = (ushort)ip;
            var off = ip - mPos;
            if (off <= 0 || off > M4MaxOffset || dv != BinaryPrimitives.ReadUInt32LittleEndian(src[mPos..]))
            {
                ip += 1 + ((ip - ii) >> 5); // skip faster through incompressible data
                continue;
            }
            op = EmitLiterals(src[ii..ip], dst, op);
            var len = 4;
            while (ip + len < src.Length && src[ip + len] == src[mPos + len])
                len++;
            op = EmitMatch(len, off, dst, op);
            ip += len;
            ii = ip;
        }
        return (op, ii);
    }

    private static int EmitLiterals(ReadOnlySpan<byte> literals, Span<byte> dst, int op)
    {
        var t = literals.Length;
        if (t == 0)
            return op;
        if (op == 0 && t <= 238)
            dst[op++] = (byte)(17 + t);            // the stream may open with a short literal run
        else if (t <= 3)
            dst[op - 2] |= (byte)t;                // up to 3 literals ride on the previous match
        else if (t <= 18)
            dst[op++] = (byte)(t - 3);
        else
        {
            var rest = t - 18;
            dst[op++] = 0;
            for (; rest > 255; rest -= 255)
                dst[op++] = 0;
            dst[op++] = (byte)rest;
        }
        literals.CopyTo(dst[op..]);
        return op + t;
    }

    private static int EmitMatch(int len, int off, Span<byte> dst, int op)
    {
        if (len <= M2MaxLen && off <= M2MaxOffset)
        {
            off--;
            dst[op++] = (byte)(((len - 1) << 5) | ((off & 7) << 2));
            dst[op++] = (byte)(off >> 3);
            return op;
        }
        int maxLen;
        if (off <= M3MaxOffset)
        {
            off--;
            maxLen = M3MaxLen;
            dst[op++] = (byte)(M3Marker | (len <= maxLen ? len - 2 : 0));
        }
        else
        {
            off -= M3MaxOffset;
            maxLen = M4MaxLen;
            dst[op++] = (byte)(M4Marker | ((off >> 11) & 8) | (len <= maxLen ? len - 2 : 0));
        }
        if (len > maxLen)
        {
            var rest = len - maxLen;
            for (; rest > 255; rest -= 255)
                dst[op++] = 0;
            dst[op++] = (byte)rest;
        }
        dst[op++] = (byte)(off << 2);
        dst[op++] = (byte)(off >> 6);
        return op;
    }
}
