// Reads a bitfield (position and width from BTF) out of a record's bytes; null when the layout
// is unknown or does not fit the record.
namespace Kdx.Kernel.Log;

internal static class RecordBits
{
    public static int? Read(ReadOnlySpan<byte> record, (ulong BitOffset, uint Bits)? field)
    {
        if (field is not { } f || f.Bits == 0 || f.Bits > 32 || (f.BitOffset + f.Bits + 7) / 8 > (ulong)record.Length)
            return null;
        ulong value = 0;
        var first = (int)(f.BitOffset / 8);
        var last = (int)((f.BitOffset + f.Bits - 1) / 8);
        for (var i = last; i >= first; i--)
            value = (value << 8) | record[i];
        return (int)((value >> (int)(f.BitOffset % 8)) & ((1UL << (int)f.Bits) - 1));
    }
}
