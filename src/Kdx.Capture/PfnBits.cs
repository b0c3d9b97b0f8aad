// Ranges of bits in a pfn bitmap held as 64-bit words (bit i of word i/64 is the i-th pfn of a
// chunk), handled a word at a time: empty stretches of the physical address space cost a word
// per 64 pfns, not a test per pfn.
using System.Numerics;

namespace Kdx.Capture;

public static class PfnBits
{
    /// <summary>Sets bits [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public static void SetRange(Span<ulong> bits, ulong from, ulong to)
    {
        while (from < to)
        {
            var word = (int)(from >> 6);
            var shift = (int)(from & 63);
            var n = (int)Math.Min(64UL - (ulong)shift, to - from);
            bits[word] |= (n == 64 ? ulong.MaxValue : ((1UL << n) - 1)) << shift;
            from += (ulong)n;
        }
    }

    /// <summary>True when any bit in [<paramref name="from"/>, <paramref name="to"/>) is set.</summary>
    public static bool Any(ReadOnlySpan<ulong> bits, ulong from, ulong to)
    {
        while (from < to)
        {
            var word = (int)(from >> 6);
            var shift = (int)(from & 63);
            var n = (int)Math.Min(64UL - (ulong)shift, to - from);
            if (((bits[word] >> shift) & (n == 64 ? ulong.MaxValue : ((1UL << n) - 1))) != 0)
                return true;
            from += (ulong)n;
        }
        return false;
    }

    /// <summary>The first set bit at or after <paramref name="from"/> and before <paramref name="to"/>, or <paramref name="to"/>.</summary>
    public static ulong NextSet(ReadOnlySpan<ulong> bits, ulong from, ulong to)
    {
        while (from < to)
        {
            var shift = (int)(from & 63);
            var w = bits[(int)(from >> 6)] >> shift;
            if (w != 0)
                return Math.Min(from + (ulong)BitOperations.TrailingZeroCount(w), to);
            from += 64UL - (ulong)shift;
        }
        return to;
    }
}
