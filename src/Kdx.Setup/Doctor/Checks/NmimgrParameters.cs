// nmimgr's module parameters as the doctor sees them in /sys/module/nmimgr/parameters: the
// events_panic/drop/ignore/debug lists, parsed by kdx nmi's own parser (the kernel's
// bitmap_parselist() syntax, a superset of nmimgr 0.4's get_options() "32,48" and "32-35");
// "(null)" is 0.4's unset list.
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Doctor.Checks;

public sealed record NmimgrParameters(NmiCodeSet Panic, NmiCodeSet Drop, NmiCodeSet Ignore, NmiCodeSet Debug, bool CodeZeroWorks, IReadOnlyList<string> Problems)
{
    public const string ModuleDir = "/sys/module/nmimgr";

    public static NmimgrParameters? Read(RootedFileSystem fs)
    {
        if (!fs.DirectoryExists(ModuleDir))
            return null;
        var problems = new List<string>();
        NmiCodeSet List(string name)
        {
            var text = fs.ReadLine($"{ModuleDir}/parameters/{name}");
            var (codes, error) = ParseList(text);
            if (error is not null)
                problems.Add($"{name}: {error}");
            return codes;
        }
        // nmimgr 1.x (kernel/nmimgr) keeps bitmaps and has dump_claims; 0.4 compared against list
        // slots whose unused entries were 0, so there code 0 always matched "ignore".
        var codeZeroWorks = fs.FileExists($"{ModuleDir}/parameters/dump_claims");
        return new NmimgrParameters(List("events_panic"), List("events_drop"), List("events_ignore"), List("events_debug"), codeZeroWorks, problems);
    }

    /// <summary>One list; a list the kernel would reject gives the codes parsed so far as empty and the reason.</summary>
    public static (NmiCodeSet Codes, string? Error) ParseList(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "(null)")
            return (NmiCodeSet.Empty, null);
        return NmiCodeList.TryParse(text, out var set, out var error)
            ? (set, null)
            : (NmiCodeSet.Empty, error!.Message);
    }

    /// <summary>
    /// Codes that really panic: nmimgr tests ignore and drop before panic; nmimgr 0.4 never
    /// panics on code 0 (see <see cref="CodeZeroWorks"/>).
    /// </summary>
    public IReadOnlyList<int> EffectivePanic =>
        Panic.Codes().Where(c => (c != 0 || CodeZeroWorks) && !Ignore.Contains(c) && !Drop.Contains(c)).ToList();
}
