// Byte counts as crash prints them in sys and kmem -i: "0", "512 KB", "19.9 MB", "1 GB"
// (one decimal as printf rounds it, dropped when it is .0; binary units).
using System.Globalization;

namespace Kdx.Kernel.Summary;

public static class SizeText
{
    public static string Format(ulong bytes)
    {
        if (bytes == 0)
            return "0";
        (double Value, string Unit) v = bytes switch
        {
            >= 1UL << 40 => (bytes / (double)(1UL << 40), "TB"),
            >= 1UL << 30 => (bytes / (double)(1UL << 30), "GB"),
            >= 1UL << 20 => (bytes / (double)(1UL << 20), "MB"),
            >= 1UL << 10 => (bytes / (double)(1UL << 10), "KB"),
            _ => (bytes, "bytes"),
        };
        // printf("%.1f") rounds an exact half to even (3.25 MB prints as 3.2), unlike .NET's "0.0".
        var text = Math.Round(v.Value, 1, MidpointRounding.ToEven).ToString("0.0", CultureInfo.InvariantCulture);
        if (text.EndsWith(".0", StringComparison.Ordinal))
            text = text[..^2];
        return $"{text} {v.Unit}";
    }
}
