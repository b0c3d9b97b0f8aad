// Keeping the scenario cache within bounds. Every scenario keeps a "last-used" stamp that
// LabBuilder touches on each build and cache hit. Pruning removes two kinds of entries:
// - a scenario that carries host files (--file, such as a NativeAOT kdx, which changes with every
//   build of kdx) and has a newer build of the same scenario: nothing asks for its inputs again
//   once the file has changed;
// - any scenario not used for longer than the given idle time.
// A failed build's leftovers (failed/) go as well. The cache is rebuilt on demand, so pruning
// costs guest time later, never correctness.
using System.Text.Json;

namespace Kdx.Lab;

public static class LabCache
{
    /// <summary>The stamp file LabBuilder touches in a scenario directory at each use.</summary>
    public const string LastUsedFile = "last-used";

    /// <summary>Records that the scenario in <paramref name="dir"/> was used now.</summary>
    public static void MarkUsed(string dir)
    {
        var stamp = Path.Combine(dir, LastUsedFile);
        try
        {
            if (!File.Exists(stamp))
                File.WriteAllBytes(stamp, []);
            File.SetLastWriteTimeUtc(stamp, DateTime.UtcNow);
        }
        catch (IOException)
        {
            // a read-only cache still serves; it only cannot be pruned by use
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>One scenario directory the prune would remove, and why.</summary>
    public sealed record Removal(string Directory, long Bytes, string Reason);

    /// <summary>
    /// The scenario directories under <paramref name="scenarios"/> to remove (removed unless
    /// <paramref name="dryRun"/>): superseded host-file scenarios, and those idle longer than
    /// <paramref name="maxIdle"/> at <paramref name="now"/>.
    /// </summary>
    public static IReadOnlyList<Removal> Prune(string scenarios, TimeSpan maxIdle, DateTime now, bool dryRun)
    {
        var entries = new List<(string Dir, string Scenario, DateTime Built, DateTime Used)>();
        if (Directory.Exists(scenarios))
            foreach (var dir in Directory.GetDirectories(scenarios))
            {
                var meta = Path.Combine(dir, LabResult.MetadataFile);
                if (!File.Exists(meta))
                    continue; // a build in progress (.tmp-*) or not a scenario
                string? scenario;
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllBytes(meta));
                    scenario = doc.RootElement.TryGetProperty("scenario", out var p) ? p.GetString() : null;
                }
                catch (JsonException)
                {
                    scenario = null;
                }
                var built = File.GetLastWriteTimeUtc(meta);
                var stamp = Path.Combine(dir, LastUsedFile);
                var used = File.Exists(stamp) ? File.GetLastWriteTimeUtc(stamp) : built;
                entries.Add((dir, scenario ?? "", built, used));
            }

        var removals = new List<Removal>();
        foreach (var group in entries.Where(e => e.Scenario.Contains(";files=", StringComparison.Ordinal)).GroupBy(e => e.Scenario))
            foreach (var old in group.OrderByDescending(e => e.Built).Skip(1))
                removals.Add(new Removal(old.Dir, Size(old.Dir), $"a newer build of the same scenario exists (its host files changed)"));
        foreach (var e in entries)
            if (now - e.Used > maxIdle && removals.All(r => r.Directory != e.Dir))
                removals.Add(new Removal(e.Dir, Size(e.Dir), $"not used for {(now - e.Used).TotalDays:0} days"));
        if (!dryRun)
            foreach (var r in removals)
                Directory.Delete(r.Directory, recursive: true);
        return removals;
    }

    private static long Size(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
