// Dumps already in a target directory: RHEL's <path>/<host>-YYYY-MM-DD-HH:MM:SS/vmcore and
// Debian's <coredir>/YYYYMMDDHHMM/dump.<stamp>, with half-written "-incomplete" ones told apart.
using System.Globalization;

namespace Kdx.Setup.Doctor;

public sealed record FoundDump(string Directory, string File, long Size, DateTime When, bool Incomplete);

public static class ExistingDumps
{
    /// <summary>Caps the directories looked at, whatever the target holds.</summary>
    public const int MaxDirectories = 4096;

    /// <summary>Finds dumps under <paramref name="target"/>, newest first.</summary>
    public static IReadOnlyList<FoundDump> Find(RootedFileSystem fs, string target)
    {
        var found = new List<FoundDump>();
        foreach (var name in fs.List(target).Take(MaxDirectories))
        {
            var dir = RootedFileSystem.Combine(target, name);
            if (!fs.DirectoryExists(dir))
                continue;
            var files = fs.List(dir);
            var dump = files.FirstOrDefault(IsDumpFile);
            if (dump is null)
                continue;
            var file = RootedFileSystem.Combine(dir, dump);
            bool incomplete = dump.Contains("incomplete", StringComparison.Ordinal) || name.EndsWith("-incomplete", StringComparison.Ordinal);
            var when = StampOf(name) ?? fs.LastWriteUtc(file) ?? DateTime.MinValue;
            found.Add(new FoundDump(dir, file, fs.FileSize(file) ?? 0, when, incomplete));
        }
        found.Sort((a, b) => b.When != a.When ? b.When.CompareTo(a.When) : string.CompareOrdinal(b.Directory, a.Directory));
        return found;
    }

    /// <summary>vmcore, vmcore-incomplete, vmcore.flat (RHEL); dump.&lt;stamp&gt;, dump-incomplete (Debian).</summary>
    public static bool IsDumpFile(string name) =>
        name == "vmcore" || name.StartsWith("vmcore-incomplete", StringComparison.Ordinal) || name == "vmcore.flat"
        || name.StartsWith("dump.", StringComparison.Ordinal) || name.StartsWith("dump-incomplete", StringComparison.Ordinal);

    /// <summary>The time in a dump directory's name: "...-YYYY-MM-DD-HH:MM:SS" (RHEL) or "YYYYMMDDHHMM" (Debian).</summary>
    public static DateTime? StampOf(string name)
    {
        var n = name.EndsWith("-incomplete", StringComparison.Ordinal) ? name[..^"-incomplete".Length] : name;
        if (n.Length >= 19 && DateTime.TryParseExact(n[^19..], "yyyy-MM-dd-HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var rhel))
            return rhel;
        if (n.Length == 12 && DateTime.TryParseExact(n, "yyyyMMddHHmm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var debian))
            return debian;
        return null;
    }
}
