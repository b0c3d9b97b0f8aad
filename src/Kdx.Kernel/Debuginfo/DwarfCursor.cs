// A bounds-checked little-endian reader over one DWARF section: every read checks the bytes are
// there (the section is untrusted), LEB128s are capped at 10 bytes, and a failure names the file,
// the section and the offset in it.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Kdx.Dump;

namespace Kdx.Kernel.Debuginfo;

public ref struct DwarfCursor
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _file;
    private readonly string _section;

    public DwarfCursor(ReadOnlySpan<byte> data, string file, string section, int position = 0)
    {
        _data = data;
        _file = file;
        _section = section;
        Position = position;
    }

    public int Position { get; set; }

    public readonly int Length => _data.Length;

    public readonly int Remaining => _data.Length - Position;

    public readonly ReadOnlySpan<byte> Data => _data;

    public byte U8()
    {
        Need(1);
        return _data[Position++];
    }

    public ushort U16()
    {
        Need(2);
        var v = BinaryPrimitives.ReadUInt16LittleEndian(_data[Position..]);
        Position += 2;
        return v;
    }

    public uint U32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32LittleEndian(_data[Position..]);
        Position += 4;
        return v;
    }

    public ulong U64()
    {
        Need(8);
        var v = BinaryPrimitives.ReadUInt64LittleEndian(_data[Position..]);
        Position += 8;
        return v;
    }

    /// <summary>An unsigned value of 1, 2, 4 or 8 bytes (address or DWARF offset size).</summary>
    public ulong Sized(int size) => size switch
    {
        1 => U8(),
        2 => U16(),
        4 => U32(),
        8 => U64(),
        _ => Fail<ulong>($"unsupported operand size {size}"),
    };

    public ulong Uleb()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = U8();
            if (shift < 64)
                result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return result;
        }
        return Fail<ulong>("LEB128 longer than 10 bytes");
    }

    public long Sleb()
    {
        long result = 0;
        var shift = 0;
        byte b;
        do
        {
            if (shift >= 70)
                return Fail<long>("LEB128 longer than 10 bytes");
            b = U8();
            if (shift < 64)
                result |= (long)(b & 0x7f) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0)
            result |= -1L << shift;
        return result;
    }

    /// <summary>The offset of a NUL-terminated string here, skipping past its NUL.</summary>
    public int SkipCString()
    {
        var start = Position;
        var nul = _data[Position..].IndexOf((byte)0);
        if (nul < 0)
            Fail("string runs past the end of the section");
        Position += nul + 1;
        return start;
    }

    public void Skip(ulong count)
    {
        if (count > (ulong)Remaining)
            Fail($"{count} bytes to skip, {Remaining} left");
        Position += (int)count;
    }

    private readonly void Need(int n)
    {
        if (n > _data.Length - Position)
            Fail($"{n}-byte read runs past the end ({Remaining} left)");
    }

    [DoesNotReturn]
    public readonly void Fail(string problem) => throw Error(_file, _section, Position, problem);

    [DoesNotReturn]
    public readonly T Fail<T>(string problem) => throw Error(_file, _section, Position, problem);

    public static DumpFormatException Error(string file, string section, long offset, string problem) =>
        new(file, offset, $"{section}+0x{offset:x}: {problem}");
}
