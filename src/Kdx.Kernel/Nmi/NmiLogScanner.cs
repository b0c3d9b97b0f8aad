// NMI events in kernel log text (dmesg, journal, /dev/kmsg, a vmcore's printk log) from nmimgr's and the
// kernel's own lines. Here in Kdx.Kernel so that both NMI discovery (Kdx.Setup) and triage read them.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Kdx.Kernel.Nmi;

/// <summary>One kernel log record: its timestamp as the source wrote it (or null) and the message text.</summary>
public sealed partial record NmiLogLine(string? Timestamp, string Text)
{
    /// <summary>
    /// Splits a raw line into timestamp and text. Understands dmesg ("[  12.345678] text", also
    /// "dmesg -T" and makedumpfile's caller-id column "[    1.000000] [    T1] text"), /dev/kmsg
    /// ("6,1234,12345678,-;text"), journalctl short/short-iso/short-precise ("... host kernel: text")
    /// and plain text.
    /// </summary>
    public static NmiLogLine Parse(string raw)
    {
        var m = DmesgPrefix().Match(raw);
        if (m.Success)
        {
            var text = raw[m.Length..];
            var caller = CallerId().Match(text);
            if (caller.Success)
                text = text[caller.Length..];
            return new(m.Groups["ts"].Value.Trim(), text);
        }
        m = KmsgPrefix().Match(raw);
        if (m.Success)
        {
            var usec = long.Parse(m.Groups["us"].Value, CultureInfo.InvariantCulture);
            return new(string.Create(CultureInfo.InvariantCulture, $"{usec / 1_000_000}.{usec % 1_000_000:D6}"), raw[m.Length..]);
        }
        m = JournalPrefix().Match(raw);
        if (m.Success)
        {
            var text = raw[m.Length..];
            var inner = DmesgPrefix().Match(text);
            if (inner.Success)
                text = text[inner.Length..];
            return new(m.Groups["ts"].Value, text);
        }
        return new(null, raw);
    }

    [GeneratedRegex(@"^\s*(?:<\d+>)?\[(?<ts>[^\]]+)\]\s?")]
    private static partial Regex DmesgPrefix();

    [GeneratedRegex(@"^\[\s*[TC]\d+\]\s?")]
    private static partial Regex CallerId();

    [GeneratedRegex(@"^\d+,(?<seq>\d+),(?<us>\d+),[^;]*;")]
    private static partial Regex KmsgPrefix();

    [GeneratedRegex(@"^(?<ts>\d{4}-\d\d-\d\dT[\d:.,]+(?:[+-]\d\d:?\d\d|Z)?|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) \S+ kernel: ")]
    private static partial Regex JournalPrefix();
}

/// <summary>Where a code was seen.</summary>
[Flags]
public enum NmiSource
{
    None = 0,
    /// <summary>nmimgr's "Handling new NMI" line.</summary>
    Nmimgr = 1,
    /// <summary>The kernel's "Uhhuh. NMI received for unknown reason" line.</summary>
    Unknown = 2,
    /// <summary>The kernel's "NMI: PCI system error (SERR)" line.</summary>
    Serr = 4,
    /// <summary>The kernel's "NMI: IOCK error" line.</summary>
    Iock = 8,
}

/// <summary>What nmimgr did with an event, when its log says so.</summary>
public enum NmiAction
{
    None,
    Passed,
    Dropped,
    Panicked,
}

/// <summary>
/// One NMI event found in the log. <paramref name="KernelCode"/> is the code the kernel printed for
/// the same event when it differs from nmimgr's: the two reads of port 0x61 are microseconds
/// apart and its bits 0x10 (refresh toggle) and 0x20 (timer 2 output) are live.
/// </summary>
public sealed record NmiSighting(int Code, NmiSource Source, string? Timestamp, int LineNumber, int? Cpu, int? NmiType, int? KernelCode = null);

/// <summary>
/// Scans kernel log lines for NMI events. One physical NMI can leave two lines: nmimgr's
/// "Handling new NMI" (then "Unmanaged ... let it pass") followed by the kernel's "Uhhuh" for
/// the same code; such a pair counts once, with both sources.
/// </summary>
public sealed partial class NmiLogScanner
{
    private readonly List<NmiSighting> _sightings = [];
    private readonly Dictionary<int, NmiAction> _lastAction = [];
    // Codes whose last nmimgr event was passed on: the next kernel line with that code (give or
    // take the live bits) is the same NMI.
    private readonly HashSet<int> _passedOn = [];

    /// <summary>Port 0x61 bits that change on their own: refresh toggle (0x10) and timer 2 output (0x20).</summary>
    public const int LiveBits = 0x30;
    private int _lineNumber;

    public IReadOnlyList<NmiSighting> Sightings => _sightings;

    /// <summary>What nmimgr last did with each code whose outcome its log states.</summary>
    public IReadOnlyDictionary<int, NmiAction> LastActions => _lastAction;

    /// <summary>Scans raw log lines (any format <see cref="NmiLogLine.Parse"/> knows).</summary>
    public static NmiLogScanner Of(IEnumerable<string> rawLines)
    {
        var s = new NmiLogScanner();
        foreach (var raw in rawLines)
            s.Add(NmiLogLine.Parse(raw));
        return s;
    }

    public static NmiLogScanner Of(IEnumerable<NmiLogLine> lines)
    {
        var s = new NmiLogScanner();
        foreach (var line in lines)
            s.Add(line);
        return s;
    }

    public void Add(NmiLogLine line)
    {
        _lineNumber++;
        var text = line.Text;
        if (!text.Contains("NMI", StringComparison.Ordinal))
            return;

        var m = NmimgrHandling().Match(text);
        if (m.Success)
        {
            var code = int.Parse(m.Groups["hex"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var type = int.Parse(m.Groups["type"].Value, CultureInfo.InvariantCulture);
            _passedOn.Remove(code);
            _sightings.Add(new(code, NmiSource.Nmimgr, line.Timestamp, _lineNumber, null, type));
            return;
        }
        m = NmimgrOutcome().Match(text);
        if (m.Success)
        {
            var code = int.Parse(m.Groups["hex"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var action = m.Groups["what"].Value switch
            {
                "Dropping NMI event" => NmiAction.Dropped,
                "Unmanaged NMI event" => NmiAction.Passed,
                _ => NmiAction.Panicked,
            };
            _lastAction[code] = action;
            if (action == NmiAction.Passed)
                _passedOn.Add(code);
            return;
        }
        m = KernelReason().Match(text);
        if (m.Success)
        {
            var code = int.Parse(m.Groups["hex"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var cpu = int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture);
            var source = m.Groups["kind"].Value switch
            {
                var k when k.StartsWith("Uhhuh", StringComparison.Ordinal) => NmiSource.Unknown,
                var k when k.Contains("SERR", StringComparison.Ordinal) => NmiSource.Serr,
                _ => NmiSource.Iock,
            };
            var passed = _passedOn.Where(c => (c & ~LiveBits) == (code & ~LiveBits)).OrderBy(c => c != code).FirstOrDefault(-1);
            if (passed >= 0 && _passedOn.Remove(passed))
            {
                // The kernel's report of the NMI nmimgr just let pass: merge into that sighting.
                for (var i = _sightings.Count - 1; i >= 0; i--)
                {
                    if (_sightings[i].Code == passed && _sightings[i].Source == NmiSource.Nmimgr)
                    {
                        _sightings[i] = _sightings[i] with
                        {
                            Source = NmiSource.Nmimgr | source,
                            Cpu = cpu,
                            KernelCode = code == passed ? null : code,
                        };
                        return;
                    }
                }
            }
            _sightings.Add(new(code, source, line.Timestamp, _lineNumber, cpu, null));
        }
    }

    [GeneratedRegex(@"nmimgr: Handling new NMI type:(?<type>\d+) event:0x(?<hex>[0-9a-fA-F]{1,2})\b")]
    private static partial Regex NmimgrHandling();

    [GeneratedRegex(@"nmimgr: (?:(?<what>Dropping NMI event|Unmanaged NMI event) 0x(?<hex>[0-9a-fA-F]{1,2})\b|(?<what>NMI event) 0x(?<hex>[0-9a-fA-F]{1,2}) \(\d+\) is in events_panic)")]
    private static partial Regex NmimgrOutcome();

    [GeneratedRegex(@"(?<kind>Uhhuh\. NMI received for unknown reason|NMI: PCI system error \(SERR\) for reason|NMI: IOCK error \(debug interrupt\?\) for reason) (?<hex>[0-9a-fA-F]{1,2}) on CPU (?<cpu>\d+)")]
    private static partial Regex KernelReason();
}

/// <summary>Names for sources, for tables.</summary>
public static class NmiSourceNames
{
    public static string Describe(NmiSource s)
    {
        var parts = new List<string>(4);
        if (s.HasFlag(NmiSource.Nmimgr))
            parts.Add("nmimgr");
        if (s.HasFlag(NmiSource.Unknown))
            parts.Add("kernel-unknown");
        if (s.HasFlag(NmiSource.Serr))
            parts.Add("kernel-serr");
        if (s.HasFlag(NmiSource.Iock))
            parts.Add("kernel-iock");
        return parts.Count == 0 ? "-" : string.Join('+', parts);
    }

    public static string Describe(NmiAction a) => a switch
    {
        NmiAction.Passed => "passed",
        NmiAction.Dropped => "dropped",
        NmiAction.Panicked => "panic",
        _ => "-",
    };
}
