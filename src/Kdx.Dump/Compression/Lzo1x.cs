// LZO1X decompression (what makedumpfile -l writes with lzo1x_1_compress), written from the
// format description: a stream of instructions, each either a literal run or a back-reference
// (match) followed by up to 3 literals, ended by the M4 instruction with distance 0 (11 00 00).
// Every read and write is bounds-checked: hostile input yields a result code, never an overrun.
namespace Kdx.Dump.Compression;

public enum LzoResult
{
    Ok,
    /// <summary>The input ended in the middle of an instruction.</summary>
    InputOverrun,
    /// <summary>The output would exceed the destination.</summary>
    OutputOverrun,
    /// <summary>A match points before the start of the output.</summary>
    LookBehindOverrun,
    /// <summary>The end marker came before the end of the input.</summary>
    InputNotConsumed,
}

public static class Lzo1x
{
    private const int M2MaxOffset = 0x0800;

    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/>; on
    /// <see cref="LzoResult.Ok"/>, <paramref name="written"/> is the decompressed length.
    /// </summary>
    public static LzoResult Decompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        var ip = 0;
        var op = 0;
        written = 0;
        // state: 0 = after a literal-free start or a match with no trailing literals (a small
        // opcode is a literal run); 1..3 = after a match and that many literals (small opcode is
        // a 2-byte match); 4 = after a literal run of 4 or more (small opcode is a 3-byte match).
        int state;
        if (source.Length == 0)
            return LzoResult.InputOverrun;
        if (source[0] > 17)
        {
            var t = source[0] - 17;
            ip = 1;
            if (!CopyLiterals(source, ref ip, destination, ref op, t, out var r))
                return r;
            state = t < 4 ? t : 4;
        }
        else
        {
            state = 0;
        }

        while (true)
        {
            if (ip >= source.Length)
                return LzoResult.InputOverrun;
            int t = source[ip++];
            int length;
            int distance;
            int next;
            if (t < 16)
            {
                if (state == 0)
                {
                    // Literal run of 4 or more bytes.
                    length = t;
                    if (length == 0 && !ReadExtendedLength(source, ref ip, 15, ref length))
                        return LzoResult.InputOverrun;
                    length += 3;
                    if (!CopyLiterals(source, ref ip, destination, ref op, length, out var r))
                        return r;
                    state = 4;
                    continue;
                }
                if (ip >= source.Length)
                    return LzoResult.InputOverrun;
                next = t & 3;
                if (state < 4)
                {
                    // M1: 2 bytes from up to 1 KiB back.
                    distance = 1 + (t >> 2) + (source[ip++] << 2);
                    length = 2;
                }
                else
                {
                    // M1 after a literal run: 3 bytes from 2..3 KiB back.
                    distance = 1 + M2MaxOffset + (t >> 2) + (source[ip++] << 2);
                    length = 3;
                }
            }
            else if (t >= 64)
            {
                // M2: 3..8 bytes from up to 2 KiB back.
                if (ip >= source.Length)
                    return LzoResult.InputOverrun;
                next = t & 3;
                distance = 1 + ((t >> 2) & 7) + (source[ip++] << 3);
                length = (t >> 5) + 1;
            }
            else if (t >= 32)
            {
                // M3: up to 16 KiB back, long lengths.
                length = t & 31;
                if (length == 0 && !ReadExtendedLength(source, ref ip, 31, ref length))
                    return LzoResult.InputOverrun;
                length += 2;
                if (source.Length - ip < 2)
                    return LzoResult.InputOverrun;
                var d = source[ip] | (source[ip + 1] << 8);
                ip += 2;
                distance = 1 + (d >> 2);
                next = d & 3;
            }
            else
            {
                // M4: 16..48 KiB back, or the end of the stream.
                length = t & 7;
                if (length == 0 && !ReadExtendedLength(source, ref ip, 7, ref length))
                    return LzoResult.InputOverrun;
                length += 2;
                if (source.Length - ip < 2)
                    return LzoResult.InputOverrun;
                var d = source[ip] | (source[ip + 1] << 8);
                ip += 2;
                distance = ((t & 8) << 11) + (d >> 2);
                next = d & 3;
                if (distance == 0)
                {
                    written = op;
                    return ip == source.Length ? LzoResult.Ok : LzoResult.InputNotConsumed;
                }
                distance += 0x4000;
            }

            if (distance > op)
                return LzoResult.LookBehindOverrun;
            if (length > destination.Length - op)
                return LzoResult.OutputOverrun;
            var from = op - distance;
            if (distance >= length)
            {
                destination.Slice(from, length).CopyTo(destination[op..]);
            }
            else
            {
                // The match overlaps the bytes it produces (a repeated pattern): byte by byte.
                for (var i = 0; i < length; i++)
                    destination[op + i] = destination[from + i];
            }
            op += length;

            state = next;
            if (next > 0 && !CopyLiterals(source, ref ip, destination, ref op, next, out var lr))
                return lr;
        }
    }

    // Length continuation: each zero byte adds 255, then a non-zero byte adds itself and the base.
    private static bool ReadExtendedLength(ReadOnlySpan<byte> source, ref int ip, int baseLength, ref int length)
    {
        long extra = 0;
        while (ip < source.Length && source[ip] == 0)
        {
            extra += 255;
            ip++;
            if (extra > int.MaxValue / 2)
                return false; // longer than any output could be
        }
        if (ip >= source.Length)
            return false;
        length = (int)(extra + baseLength + source[ip++]);
        return true;
    }

    private static bool CopyLiterals(ReadOnlySpan<byte> source, ref int ip, Span<byte> destination, ref int op, int count, out LzoResult result)
    {
        if (count > source.Length - ip)
        {
            result = LzoResult.InputOverrun;
            return false;
        }
        if (count > destination.Length - op)
        {
            result = LzoResult.OutputOverrun;
            return false;
        }
        source.Slice(ip, count).CopyTo(destination[op..]);
        ip += count;
        op += count;
        result = LzoResult.Ok;
        return true;
    }
}
