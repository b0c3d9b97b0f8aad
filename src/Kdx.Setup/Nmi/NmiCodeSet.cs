// A set of NMI event codes (the reason byte, 0-255): nmimgr's 256-bit list, immutable, printed as the kernel prints it.
using System.Text;

namespace Kdx.Setup.Nmi;

/// <summary>An immutable set of NMI event codes 0-255, the C# side of one of nmimgr's bitmaps.</summary>
public readonly struct NmiCodeSet : IEquatable<NmiCodeSet>
{
    public const int CodeCount = 256;

    private readonly ulong _w0, _w1, _w2, _w3;

    private NmiCodeSet(ulong w0, ulong w1, ulong w2, ulong w3) => (_w0, _w1, _w2, _w3) = (w0, w1, w2, w3);

    public static NmiCodeSet Empty => default;

    public static NmiCodeSet Of(params ReadOnlySpan<int> codes)
    {
        var set = Empty;
        foreach (var c in codes)
            set = set.With(c);
        return set;
    }

    /// <summary>Parses the kernel list syntax (see <see cref="NmiCodeList"/>); throws <see cref="NmiListException"/>.</summary>
    public static NmiCodeSet Parse(string text) => NmiCodeList.Parse(text);

    public bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

    public int Count => System.Numerics.BitOperations.PopCount(_w0) + System.Numerics.BitOperations.PopCount(_w1)
        + System.Numerics.BitOperations.PopCount(_w2) + System.Numerics.BitOperations.PopCount(_w3);

    public bool Contains(int code) => (uint)code < CodeCount && (Word(code >> 6) & (1UL << (code & 63))) != 0;

    public NmiCodeSet With(int code)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)code, (uint)CodeCount, nameof(code));
        var bit = 1UL << (code & 63);
        return (code >> 6) switch
        {
            0 => new(_w0 | bit, _w1, _w2, _w3),
            1 => new(_w0, _w1 | bit, _w2, _w3),
            2 => new(_w0, _w1, _w2 | bit, _w3),
            _ => new(_w0, _w1, _w2, _w3 | bit),
        };
    }

    /// <summary>Adds codes first..last inclusive.</summary>
    public NmiCodeSet WithRange(int first, int last)
    {
        var set = this;
        for (var c = first; c <= last; c++)
            set = set.With(c);
        return set;
    }

    public NmiCodeSet Union(NmiCodeSet other) => new(_w0 | other._w0, _w1 | other._w1, _w2 | other._w2, _w3 | other._w3);

    public NmiCodeSet Intersect(NmiCodeSet other) => new(_w0 & other._w0, _w1 & other._w1, _w2 & other._w2, _w3 & other._w3);

    /// <summary>The codes in ascending order.</summary>
    public IEnumerable<int> Codes()
    {
        for (var c = 0; c < CodeCount; c++)
            if (Contains(c))
                yield return c;
    }

    /// <summary>
    /// The canonical list, as the kernel's "%*pbl" prints it and nmimgr reads it back from sysfs:
    /// ascending, runs of two or more codes as "a-b", empty set as "".
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var c = 0;
        while (c < CodeCount)
        {
            if (!Contains(c))
            {
                c++;
                continue;
            }
            var end = c;
            while (end + 1 < CodeCount && Contains(end + 1))
                end++;
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(c);
            if (end > c)
                sb.Append('-').Append(end);
            c = end + 1;
        }
        return sb.ToString();
    }

    private ulong Word(int i) => i switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };

    public bool Equals(NmiCodeSet other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is NmiCodeSet s && Equals(s);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    public static bool operator ==(NmiCodeSet a, NmiCodeSet b) => a.Equals(b);

    public static bool operator !=(NmiCodeSet a, NmiCodeSet b) => !a.Equals(b);
}
