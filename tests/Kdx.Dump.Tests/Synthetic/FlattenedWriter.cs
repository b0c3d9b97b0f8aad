// Wraps a file in makedumpfile's flattened format: the 4096-byte flat header, then big-endian
// { offset, size } records with their data, then the -1/-1 end marker. Records can be shuffled
// and preceded by stale records that later ones overwrite, as a stream writer may produce.
using System.Buffers.Binary;
using System.Text;

namespace Kdx.Dump.Tests.Synthetic;

public static class FlattenedWriter
{
    public static byte[] Wrap(byte[] file, int chunk = 1000, int? shuffleSeed = null, bool staleRecords = false, bool endMarker = true)
    {
        var o = new MemoryStream();
        var h = new byte[4096];
        Encoding.ASCII.GetBytes("makedumpfile").CopyTo(h, 0);
        BinaryPrimitives.WriteInt64BigEndian(h.AsSpan(16), 1); // type
        BinaryPrimitives.WriteInt64BigEndian(h.AsSpan(24), 1); // version
        o.Write(h);
        var pieces = new List<(long Offset, int Size)>();
        for (long at = 0; at < file.Length; at += chunk)
            pieces.Add((at, (int)Math.Min(chunk, file.Length - at)));
        if (shuffleSeed is { } seed)
        {
            var rnd = new Random(seed);
            for (var i = pieces.Count - 1; i > 0; i--)
            {
                var j = rnd.Next(i + 1);
                (pieces[i], pieces[j]) = (pieces[j], pieces[i]);
            }
        }
        if (staleRecords)
        {
            // Garbage over every other piece, written first so the real record wins.
            for (var i = 0; i < pieces.Count; i += 2)
            {
                var garbage = new byte[pieces[i].Size + chunk / 2];
                Array.Fill(garbage, (byte)0xa5);
                Record(o, pieces[i].Offset, garbage);
            }
        }
        foreach (var (offset, size) in pieces)
            Record(o, offset, file.AsSpan((int)offset, size));
        if (endMarker)
        {
            Span<byte> end = stackalloc byte[16];
            end.Fill(0xff);
            o.Write(end);
        }
        return o.ToArray();
    }

    public static void Record(Stream o, long offset, ReadOnlySpan<byte> data)
    {
        Span<byte> rh = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(rh, offset);
        BinaryPrimitives.WriteInt64BigEndian(rh[8..], data.Length);
        o.Write(rh);
        o.Write(data);
    }
}
