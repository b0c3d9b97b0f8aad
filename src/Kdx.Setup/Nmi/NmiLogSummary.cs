// NMI discovery's view of a scanned log: one row per event code (count, first and last seen,
// sources, nmimgr's last action, the codes the kernel printed for the same events).
using Kdx.Kernel.Nmi;

namespace Kdx.Setup.Nmi;

/// <summary>All events with one code.</summary>
public sealed record NmiCodeSummary(int Code, int Count, string FirstSeen, string LastSeen, NmiSource Sources, NmiAction LastAction, int? LastCpu, NmiCodeSet KernelVariants = default);

public static class NmiLogSummary
{
    public static IReadOnlyList<NmiCodeSummary> Scan(IEnumerable<string> rawLines) => Summarize(NmiLogScanner.Of(rawLines));

    public static IReadOnlyList<NmiCodeSummary> Scan(IEnumerable<NmiLogLine> lines) => Summarize(NmiLogScanner.Of(lines));

    public static IReadOnlyList<NmiCodeSummary> Summarize(NmiLogScanner scanner)
    {
        var byCode = new SortedDictionary<int, NmiCodeSummary>();
        foreach (var s in scanner.Sightings)
        {
            var seen = s.Timestamp ?? $"line {s.LineNumber}";
            var variants = s.KernelCode is { } k ? NmiCodeSet.Of(k) : NmiCodeSet.Empty;
            if (byCode.TryGetValue(s.Code, out var sum))
                byCode[s.Code] = sum with
                {
                    Count = sum.Count + 1,
                    LastSeen = seen,
                    Sources = sum.Sources | s.Source,
                    LastCpu = s.Cpu ?? sum.LastCpu,
                    KernelVariants = sum.KernelVariants.Union(variants),
                };
            else
                byCode[s.Code] = new(s.Code, 1, seen, seen, s.Source, NmiAction.None, s.Cpu, variants);
        }
        return [.. byCode.Values.Select(v => v with { LastAction = scanner.LastActions.GetValueOrDefault(v.Code) })];
    }
}
