// /proc/meminfo as byte counts: the input of every size estimate (crashkernel and dump size).
using System.Globalization;

namespace Kdx.Setup.Doctor;

public sealed class MemInfo
{
    private readonly Dictionary<string, long> _bytes;

    private MemInfo(Dictionary<string, long> bytes) => _bytes = bytes;

    public static readonly MemInfo Empty = new(new Dictionary<string, long>());

    /// <summary>A field in bytes ("kB" lines scaled, bare counts such as HugePages_Total as is), or null.</summary>
    public long? this[string field] => _bytes.TryGetValue(field, out var v) ? v : null;

    public long Get(string field) => this[field] ?? 0;

    public long? MemTotal => this["MemTotal"];

    public static MemInfo Parse(string text)
    {
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            int colon = raw.IndexOf(':');
            if (colon <= 0)
                continue;
            var fields = raw[(colon + 1)..].Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                continue;
            long scale = fields.Length > 1 && fields[1].Equals("kB", StringComparison.OrdinalIgnoreCase) ? 1024 : 1;
            bytes[raw[..colon].Trim()] = v > long.MaxValue / scale ? long.MaxValue : v * scale;
        }
        return new MemInfo(bytes);
    }
}
