// nmimgr's policy (ignore, drop, panic lists): validation, and its modprobe.d and kernel command-line forms.
using System.Text;

namespace Kdx.Setup.Nmi;

/// <summary>A code listed twice; nmimgr would silently apply the first list's action, so kdx refuses it.</summary>
public sealed record NmiOverlap(int Code, string FirstList, string SecondList)
{
    public override string ToString() => $"code {Code} (0x{Code:x2}) is in both {FirstList} and {SecondList}";
}

public sealed class NmiPolicyException(string message) : Exception(message);

/// <summary>The three lists nmimgr takes, named as its parameters.</summary>
public sealed record NmiPolicy(NmiCodeSet Ignore, NmiCodeSet Drop, NmiCodeSet Panic)
{
    public const string ModuleName = "nmimgr";
    public const string ModprobeConfPath = "etc/modprobe.d/nmimgr.conf";

    /// <summary>Parses the lists (null = not given); throws <see cref="NmiListException"/> naming the bad one.</summary>
    public static NmiPolicy Parse(string? ignore, string? drop, string? panic) =>
        new(ParseOne("events_ignore", ignore), ParseOne("events_drop", drop), ParseOne("events_panic", panic));

    private static NmiCodeSet ParseOne(string name, string? text)
    {
        if (text is null)
            return NmiCodeSet.Empty;
        if (NmiCodeList.TryParse(text, out var set, out var error))
            return set;
        throw new NmiListException(error! with { Reason = $"{name}: {error!.Reason}" });
    }

    /// <summary>Every code that is in more than one list, in code order.</summary>
    public IReadOnlyList<NmiOverlap> Overlaps()
    {
        var found = new List<NmiOverlap>();
        var lists = Lists();
        for (var i = 0; i < lists.Length; i++)
            for (var j = i + 1; j < lists.Length; j++)
                foreach (var c in lists[i].Set.Intersect(lists[j].Set).Codes())
                    found.Add(new(c, lists[i].Name, lists[j].Name));
        return [.. found.OrderBy(o => o.Code)];
    }

    /// <summary>Throws when a code is in two lists.</summary>
    public NmiPolicy Validate()
    {
        var overlaps = Overlaps();
        if (overlaps.Count > 0)
            throw new NmiPolicyException(string.Join("; ", overlaps) + ": a code must be in one list only");
        return this;
    }

    private (string Name, NmiCodeSet Set)[] Lists() =>
        [("events_ignore", Ignore), ("events_drop", Drop), ("events_panic", Panic)];

    /// <summary>
    /// Codes listed without their partner differing in bit 0x10: that bit of port 0x61 (refresh
    /// toggle) flips by itself, so one BMC event can arrive as either code; the known vendor
    /// tables list both (32/48, 40/56, 41/57).
    /// </summary>
    public IReadOnlyList<string> ToggleBitHints()
    {
        var hints = new List<string>();
        foreach (var (name, set) in Lists())
        {
            var missing = set.Codes().Where(c => !set.Contains(c ^ 0x10)).ToList();
            if (missing.Count > 0)
                hints.Add($"{name}: {string.Join(", ", missing.Select(c => $"{c} (0x{c:x2}) without {c ^ 0x10} (0x{c ^ 0x10:x2})"))}");
        }
        return hints;
    }

    /// <summary>The non-empty lists as name=value pairs, in the module's order.</summary>
    public IEnumerable<(string Name, string Value)> Parameters() =>
        Lists().Where(l => !l.Set.IsEmpty).Select(l => (l.Name, l.Set.ToString()));

    /// <summary>/etc/modprobe.d/nmimgr.conf; an empty policy gives no options line.</summary>
    public string ModprobeConf()
    {
        var sb = new StringBuilder();
        sb.Append("# nmimgr policy per NMI event code, written by kdx nmi config.\n");
        sb.Append("# Lists are checked in this order: ignore, drop, panic. Codes 0-255.\n");
        var options = string.Join(' ', Parameters().Select(p => $"{p.Name}={p.Value}"));
        if (options.Length > 0)
            sb.Append("options ").Append(ModuleName).Append(' ').Append(options).Append('\n');
        return sb.ToString();
    }

    /// <summary>The same policy for the kernel command line (built-in nmimgr, or picked up by modprobe).</summary>
    public string KernelCommandLine() =>
        string.Join(' ', Parameters().Select(p => $"{ModuleName}.{p.Name}={p.Value}"));
}
