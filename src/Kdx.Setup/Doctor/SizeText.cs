// Sizes as the kernel writes them on its command line (memparse: "256M", "0x1000", "4G") and
// as the doctor prints them to people ("1.5 GiB").
using System.Globalization;

namespace Kdx.Setup.Doctor;

public static class SizeText
{
    public const long MiB = 1L << 20;
    public const long GiB = 1L << 30;

    /// <summary>Parses a memparse size: decimal or 0x hex, optional K/M/G/T/P/E suffix. Null on anything else or overflow.</summary>
    public static long? ParseBytes(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        if (text.IsEmpty)
            return null;
        int shift = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, 'P' => 50, 'E' => 60, _ => 0,
        };
        if (shift != 0)
            text = text[..^1];
        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        var digits = hex ? text[2..] : text;
        if (digits.IsEmpty || !ulong.TryParse(digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            return null;
        if (value > (ulong)long.MaxValue >> shift)
            return null;
        return (long)(value << shift);
    }

    /// <summary>The kernel's spelling of a size: the largest unit that divides it ("192M", "1G", "4096").</summary>
    public static string Kernel(long bytes)
    {
        foreach (var (shift, unit) in new[] { (40, 'T'), (30, 'G'), (20, 'M'), (10, 'K') })
        {
            long unitBytes = 1L << shift;
            if (bytes != 0 && bytes % unitBytes == 0)
                return string.Create(CultureInfo.InvariantCulture, $"{bytes / unitBytes}{unit}");
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A size for people: "512 MiB", "1.5 GiB", "900 KiB".</summary>
    public static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = bytes;
        int i = 0;
        while (Math.Abs(v) >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return i == 0 || v >= 100 || v == Math.Floor(v)
            ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(v):0} {units[i]}")
            : string.Create(CultureInfo.InvariantCulture, $"{v:0.#} {units[i]}");
    }

    /// <summary>Rounds up to a multiple of <paramref name="unit"/>.</summary>
    public static long RoundUp(long bytes, long unit) => (bytes + unit - 1) / unit * unit;
}
