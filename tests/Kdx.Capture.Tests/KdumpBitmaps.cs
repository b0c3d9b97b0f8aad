// Reads the two bitmaps of a kdump-compressed file (test helper): which pfns are RAM (1st) and
// which the dump level kept (2nd), to compare page sets between writers.
using System.Buffers.Binary;

namespace Kdx.Capture.Tests;

internal sealed record KdumpBitmaps(ulong MaxMapnr, byte[] First, byte[] Second, int DumpLevel, uint Status)
{
    public static KdumpBitmaps Read(string path)
    {
        using var f = File.OpenRead(path);
        var head = new byte[4096];
        f.ReadExactly(head);
        var bs = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(428));
        var sub = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(432));
        var blocks = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(436));
        var status = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(424));
        var subHeader = new byte[104];
        f.Position = bs;
        f.ReadExactly(subHeader);
        var bitmaps = new byte[(long)blocks * bs];
        f.Position = (long)bs * (1 + sub);
        f.ReadExactly(bitmaps);
        var half = bitmaps.Length / 2;
        return new KdumpBitmaps(BinaryPrimitives.ReadUInt64LittleEndian(subHeader.AsSpan(96)), bitmaps[..half], bitmaps[half..],
            BinaryPrimitives.ReadInt32LittleEndian(subHeader.AsSpan(8)), status);
    }

    public static bool Bit(byte[] map, ulong pfn) => pfn / 8 < (ulong)map.Length && (map[pfn / 8] & (1 << (int)(pfn % 8))) != 0;

    /// <summary>Pfns set in <paramref name="a"/> but not in <paramref name="b"/> (first few, and the count).</summary>
    public static (ulong Count, List<ulong> First) Difference(byte[] a, byte[] b, ulong maxMapnr)
    {
        ulong count = 0;
        var first = new List<ulong>();
        for (ulong pfn = 0; pfn < maxMapnr; pfn++)
            if (Bit(a, pfn) && !Bit(b, pfn))
            {
                count++;
                if (first.Count < 16)
                    first.Add(pfn);
            }
        return (count, first);
    }
}
