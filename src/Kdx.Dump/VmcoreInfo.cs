// VMCOREINFO: the kernel's "KEY=value" note describing itself (symbols, struct offsets and
// sizes, constants). Parsed once into typed lookups; unknown lines are kept verbatim.
using System.Globalization;
using System.Text;

namespace Kdx.Dump;

public sealed class VmcoreInfo
{
    /// <summary>Longest VMCOREINFO text accepted (the kernel reserves one page; allow headroom).</summary>
    public const int MaxLength = 1 << 20;

    private readonly Dictionary<string, string> _entries = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _ordered = [];

    private VmcoreInfo(string text)
    {
        Text = text;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r', '\0');
            var eq = line.IndexOf('=');
            if (eq <= 0)
                continue;
            var key = line[..eq];
            var value = line[(eq + 1)..];
            _entries[key] = value; // the kernel never repeats a key; if a file does, the last wins
            _ordered.Add(new(key, value));
        }
    }

    /// <summary>The note text exactly as found.</summary>
    public string Text { get; }

    /// <summary>All entries in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Entries => _ordered;

    public static VmcoreInfo Parse(ReadOnlySpan<byte> note)
    {
        var end = note.IndexOf((byte)0);
        if (end >= 0)
            note = note[..end];
        if (note.Length > MaxLength)
            note = note[..MaxLength];
        return new VmcoreInfo(Encoding.ASCII.GetString(note));
    }

    public static VmcoreInfo Parse(string text) => new(text);

    public string? Raw(string key) => _entries.TryGetValue(key, out var v) ? v : null;

    public bool Has(string key) => _entries.ContainsKey(key);

    /// <summary>OSRELEASE, e.g. "6.1.0-56-amd64".</summary>
    public string? OsRelease => Raw("OSRELEASE");

    public string? BuildId => Raw("BUILD-ID");

    public ulong? PageSize => ParseDec(Raw("PAGESIZE"));

    /// <summary>KASLR displacement of the kernel image (KERNELOFFSET, hex); 0 when absent.</summary>
    public ulong KernelOffset => ParseHex(Raw("KERNELOFFSET")) ?? 0;

    /// <summary>Seconds since the epoch when the kernel crashed (CRASHTIME), if recorded.</summary>
    public long? CrashTime => (long?)ParseDec(Raw("CRASHTIME"));

    /// <summary>SYMBOL(name): the symbol's kernel virtual address as the kernel saw it (KASLR included).</summary>
    public ulong? Symbol(string name) => ParseHex(Raw($"SYMBOL({name})"));

    /// <summary>OFFSET(struct.member) in bytes.</summary>
    public ulong? Offset(string structName, string member) => ParseDec(Raw($"OFFSET({structName}.{member})"));

    /// <summary>SIZE(struct) in bytes.</summary>
    public ulong? Size(string structName) => ParseDec(Raw($"SIZE({structName})"));

    /// <summary>LENGTH(name): an array length.</summary>
    public ulong? Length(string name) => ParseDec(Raw($"LENGTH({name})"));

    /// <summary>NUMBER(name): a signed constant (some, like PAGE_BUDDY_MAPCOUNT_VALUE, are negative).</summary>
    public long? Number(string name)
    {
        var s = Raw($"NUMBER({name})");
        if (s is null)
            return null;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return (long?)ParseHex(s);
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    private static ulong? ParseHex(string? s)
    {
        if (s is null)
            return null;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            s = s[2..];
        return ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    private static ulong? ParseDec(string? s) =>
        s is not null && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
}
