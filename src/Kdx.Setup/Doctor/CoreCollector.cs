// What the configured core collector will write: makedumpfile's dump level (-d), compression
// (-c zlib, -l lzo, -p snappy, -z zstd), ELF (-E) or flattened (-F) output; cp/scp copy all of RAM.
using System.Globalization;

namespace Kdx.Setup.Doctor;

public sealed record CoreCollector(string CommandLine, bool IsMakedumpfile, int DumpLevel, string? Compression, bool Elf, bool Flattened, IReadOnlyList<string> Problems)
{
    public const int MaxDumpLevel = 31;

    public bool Compressed => Compression is not null;

    public static CoreCollector Parse(string commandLine)
    {
        var words = commandLine.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var problems = new List<string>();
        if (words.Length == 0)
            return new CoreCollector(commandLine, false, 0, null, true, false, ["empty core_collector"]);
        bool makedumpfile = Path.GetFileName(words[0]) == "makedumpfile";
        int level = 0;
        string? compression = null;
        bool elf = !makedumpfile, flattened = false;
        for (int i = 1; makedumpfile && i < words.Length; i++)
        {
            var w = words[i];
            switch (w)
            {
                case "-c": compression = "zlib"; break;
                case "-l": compression = "lzo"; break;
                case "-p": compression = "snappy"; break;
                case "-z": compression = "zstd"; break;
                case "-E": elf = true; break;
                case "-F": flattened = true; break;
                case "-d" or "--dump-level":
                    if (i + 1 < words.Length)
                        level = ParseLevel(words[++i], problems);
                    else
                        problems.Add("-d without a dump level");
                    break;
                default:
                    if (w.StartsWith("-d", StringComparison.Ordinal) && w.Length > 2 && char.IsAsciiDigit(w[2]))
                        level = ParseLevel(w[2..], problems);
                    break;
            }
        }
        return new CoreCollector(commandLine, makedumpfile, level, elf ? null : compression, elf, flattened, problems);
    }

    private static int ParseLevel(string text, List<string> problems)
    {
        // makedumpfile also accepts a list ("-d 1,31") for some modes; the highest is what filters.
        int best = -1;
        foreach (var part in text.Split(','))
        {
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v <= MaxDumpLevel)
                best = Math.Max(best, v);
            else
            {
                problems.Add($"dump level '{text}' is not a number from 0 to {MaxDumpLevel}");
                return 0;
            }
        }
        return Math.Max(best, 0);
    }
}
