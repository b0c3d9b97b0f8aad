// Parses `bpftool btf dump file X format raw`, the oracle for BTF decoding: one line per type
// ("[id] KIND 'name' key=value ...") followed by tab-indented lines for members, enumerators,
// parameters and section entries.
using System.Text.RegularExpressions;

namespace Kdx.Kernel.Tests.Support;

public sealed partial class BpftoolDump
{
    public sealed record Entry(string Name, Dictionary<string, string> Fields, string Line);

    public sealed record Type(int Id, string Kind, string Name, Dictionary<string, string> Fields, List<Entry> Entries, string Line);

    public Dictionary<int, Type> Types { get; } = new();

    public static BpftoolDump Load(string file, string? baseFile = null)
    {
        var args = new List<string> { "btf", "dump", "file", file };
        if (baseFile is not null)
            args.AddRange(["--base-btf", baseFile]);
        args.AddRange(["format", "raw"]);
        return Parse(Oracles.Run("bpftool", [.. args]));
    }

    public static BpftoolDump Parse(string text)
    {
        var dump = new BpftoolDump();
        Type? current = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            if (line[0] == '[')
            {
                var m = TypeLine().Match(line);
                if (!m.Success)
                    throw new FormatException($"bpftool line not understood: {line}");
                current = new Type(int.Parse(m.Groups[1].Value), m.Groups[2].Value, m.Groups[3].Value, Fields(m.Groups[4].Value), [], line);
                dump.Types[current.Id] = current;
            }
            else if (line[0] == '\t' && current is not null)
            {
                var body = line[1..];
                var name = "";
                if (body.StartsWith('\''))
                {
                    var close = body.IndexOf('\'', 1);
                    name = body[1..close];
                    body = body[(close + 1)..];
                }
                current.Entries.Add(new Entry(name, Fields(body), line));
            }
        }
        return dump;
    }

    private static Dictionary<string, string> Fields(string s)
    {
        var d = new Dictionary<string, string>();
        foreach (Match m in FieldPattern().Matches(s))
            d[m.Groups[1].Value] = m.Groups[2].Value;
        return d;
    }

    /// <summary>Bit offset of a direct member of the struct/union named <paramref name="owner"/>.</summary>
    public ulong MemberBits(string owner, string member)
    {
        var t = Types.Values.First(t => t.Name == owner && t.Kind is "STRUCT" or "UNION" && t.Entries.Count > 0);
        return ulong.Parse(t.Entries.First(e => e.Name == member).Fields["bits_offset"]);
    }

    public int MemberType(string owner, string member)
    {
        var t = Types.Values.First(t => t.Name == owner && t.Kind is "STRUCT" or "UNION" && t.Entries.Count > 0);
        return int.Parse(t.Entries.First(e => e.Name == member).Fields["type_id"]);
    }

    /// <summary>
    /// Bit offset of <paramref name="member"/> inside the struct/union/typedef named <paramref name="owner"/>,
    /// searching anonymous members depth-first over bpftool's listing (an oracle-side walk, independent of kdx).
    /// </summary>
    public ulong? DeepMemberBits(string owner, string member)
    {
        var t = Types.Values.First(t => t.Name == owner && (t.Kind is "TYPEDEF" || (t.Kind is "STRUCT" or "UNION" && t.Entries.Count > 0)));
        return Search(Strip(t), member);
    }

    private Type Strip(Type t)
    {
        while (t.Kind is "TYPEDEF" or "CONST" or "VOLATILE")
            t = Types[int.Parse(t.Fields["type_id"])];
        return t;
    }

    private ulong? Search(Type t, string member)
    {
        foreach (var e in t.Entries)
            if (e.Name == member)
                return ulong.Parse(e.Fields["bits_offset"]);
        foreach (var e in t.Entries.Where(e => e.Name == "(anon)"))
            if (Search(Strip(Types[int.Parse(e.Fields["type_id"])]), member) is { } inner)
                return ulong.Parse(e.Fields["bits_offset"]) + inner;
        return null;
    }

    [GeneratedRegex(@"^\[(\d+)\] (\w+) '([^']*)'(.*)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"(\w+)=([^\s,]+)")]
    private static partial Regex FieldPattern();
}
