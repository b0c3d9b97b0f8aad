// nmimgr's module parameters as the doctor sees them in /sys/module/nmimgr/parameters: the
// events_panic/drop/ignore/debug lists (get_options syntax: "32,48", ranges "32-35"; "(null)" unset).
using System.Globalization;

namespace Kdx.Setup.Doctor.Checks;

public sealed record NmimgrParameters(IReadOnlyList<int> Panic, IReadOnlyList<int> Drop, IReadOnlyList<int> Ignore, IReadOnlyList<int> Debug, IReadOnlyList<string> Problems)
{
    public const string ModuleDir = "/sys/module/nmimgr";

    /// <summary>Reason codes are one byte (port 0x61); lists longer than this are rejected as garbage.</summary>
    private const int MaxCodes = 256;

    public static NmimgrParameters? Read(RootedFileSystem fs)
    {
        if (!fs.DirectoryExists(ModuleDir))
            return null;
        var problems = new List<string>();
        IReadOnlyList<int> List(string name)
        {
            var text = fs.ReadLine($"{ModuleDir}/parameters/{name}");
            var (codes, error) = ParseList(text);
            if (error is not null)
                problems.Add($"{name}: {error}");
            return codes;
        }
        return new NmimgrParameters(List("events_panic"), List("events_drop"), List("events_ignore"), List("events_debug"), problems);
    }

    public static (IReadOnlyList<int> Codes, string? Error) ParseList(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "(null)")
            return ([], null);
        var codes = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2 || !TryCode(ends[0], out var a) || (ends.Length == 2 && !TryCode(ends[1], out _)))
                return (codes, $"'{ShellVariables.Clip(part)}' is not a code 0-255 or a range");
            int b = ends.Length == 2 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : a;
            for (int c = a; c <= b && codes.Count < MaxCodes; c++)
                codes.Add(c);
        }
        return (codes, null);
    }

    private static bool TryCode(string s, out int code) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out code) && code <= 255;

    /// <summary>
    /// Codes that really panic: nmimgr tests ignore and drop before panic, and its unused list slots
    /// are 0, so code 0 always matches "ignore" and never panics.
    /// </summary>
    public IReadOnlyList<int> EffectivePanic => Panic.Where(c => c != 0 && !Ignore.Contains(c) && !Drop.Contains(c)).Distinct().ToList();
}
