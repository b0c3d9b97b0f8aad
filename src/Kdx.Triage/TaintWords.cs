// Taint letters in words. The letter of each taint bit comes from the dumped kernel's own
// taint_flags table; what a letter means is the kernel's documented, stable taint vocabulary
// (Documentation/admin-guide/tainted-kernels.rst).
namespace Kdx.Triage;

public static class TaintWords
{
    public static string Word(char letter) => letter switch
    {
        'P' => "proprietary module",
        'F' => "module force-loaded",
        'S' => "running on an out-of-spec system",
        'R' => "module force-unloaded",
        'M' => "machine check occurred",
        'B' => "bad page referenced",
        'U' => "taint requested by user space",
        'D' => "kernel died recently (oops or BUG)",
        'A' => "ACPI table overridden",
        'W' => "warning issued",
        'C' => "staging driver loaded",
        'I' => "working around a firmware bug",
        'O' => "out-of-tree module",
        'E' => "unsigned module",
        'L' => "soft lockup occurred",
        'K' => "kernel live-patched",
        'X' => "auxiliary (distribution) taint",
        'T' => "built with struct randomization",
        'N' => "in-kernel test ran",
        _ => $"taint '{letter}'",
    };

    public static IReadOnlyList<string> Words(string letters) => [.. letters.Select(Word)];
}
