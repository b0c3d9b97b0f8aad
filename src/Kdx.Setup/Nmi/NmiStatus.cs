// State of NMI handling on a machine (under a root): nmimgr loaded or not, its parameters and counters, and the sysctls that decide what unclaimed NMIs do.
using System.Globalization;

namespace Kdx.Setup.Nmi;

public sealed record NmiSysctl(string Name, string? Value, string Meaning);

public sealed record NmiStatusReport(
    bool Loaded,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyDictionary<int, long> Counters,
    IReadOnlyList<NmiSysctl> Sysctls,
    string? ModprobeConf,
    IReadOnlyList<string> CommandLineOptions,
    bool? CrashKernelLoaded,
    IReadOnlyList<string> Notes);

public static class NmiStatus
{
    private static readonly (string Name, string Meaning)[] SysctlNames =
    [
        ("unknown_nmi_panic", "panic on every unclaimed NMI"),
        ("panic_on_unrecovered_nmi", "panic on unclaimed unknown and SERR NMIs"),
        ("panic_on_io_nmi", "panic on unclaimed IOCHK NMIs"),
        ("nmi_watchdog", "hard-lockup detector (claims its own NMIs on NMI_LOCAL)"),
    ];

    public static NmiStatusReport Read(string root)
    {
        var moduleDir = Path.Combine(root, "sys/module/nmimgr");
        var loaded = Directory.Exists(moduleDir);
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var counters = new SortedDictionary<int, long>();
        var notes = new List<string>();

        var paramDir = Path.Combine(moduleDir, "parameters");
        if (Directory.Exists(paramDir))
        {
            foreach (var file in Directory.EnumerateFiles(paramDir).Order(StringComparer.Ordinal))
            {
                var text = ReadOrNull(file);
                if (text is null)
                    continue;
                var name = Path.GetFileName(file);
                if (name == "counters")
                    ParseCounters(text, counters, notes);
                else
                    parameters[name] = text.Trim();
            }
        }

        var sysctls = SysctlNames
            .Select(s => new NmiSysctl(s.Name, ReadOrNull(Path.Combine(root, "proc/sys/kernel", s.Name))?.Trim(), s.Meaning))
            .ToList();

        var conf = ReadOrNull(Path.Combine(root, NmiPolicy.ModprobeConfPath));
        var cmdline = ReadOrNull(Path.Combine(root, "proc/cmdline")) ?? "";
        var cmdOptions = cmdline.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Where(o => o.StartsWith("nmimgr.", StringComparison.Ordinal)).ToList();
        var crashLoaded = ReadOrNull(Path.Combine(root, "sys/kernel/kexec_crash_loaded"))?.Trim() switch
        {
            "1" => true,
            "0" => (bool?)false,
            _ => null,
        };

        AddNotes(loaded, parameters, sysctls, crashLoaded, notes);
        return new(loaded, parameters, counters, sysctls, conf, cmdOptions, crashLoaded, notes);
    }

    /// <summary>Parses nmimgr's "code count" lines.</summary>
    public static void ParseCounters(string text, IDictionary<int, long> counters, IList<string> notes)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2 &&
                int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 0 and < NmiCodeSet.CodeCount &&
                long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                counters[code] = count;
            else
                notes.Add($"unreadable counters line: \"{line}\"");
        }
    }

    private static void AddNotes(bool loaded, IReadOnlyDictionary<string, string> p, IReadOnlyList<NmiSysctl> sysctls, bool? crashLoaded, List<string> notes)
    {
        bool On(string name) => sysctls.FirstOrDefault(s => s.Name == name)?.Value is { } v && v != "0";
        if (!loaded)
        {
            if (On("unknown_nmi_panic") || On("panic_on_unrecovered_nmi"))
                notes.Add("nmimgr is not loaded: every unclaimed NMI panics (unknown_nmi_panic/panic_on_unrecovered_nmi)");
            else
                notes.Add("nmimgr is not loaded: unclaimed NMIs are logged (\"Uhhuh\") and ignored");
            return;
        }
        if (On("unknown_nmi_panic") || On("panic_on_unrecovered_nmi"))
            notes.Add("codes in no nmimgr list still panic: unknown_nmi_panic or panic_on_unrecovered_nmi is set");
        if (On("panic_on_io_nmi"))
            notes.Add("IOCHK NMIs nmimgr passes on panic: panic_on_io_nmi is set");
        var panicList = p.GetValueOrDefault("events_panic", "");
        if (panicList.Length > 0 && crashLoaded == false)
            notes.Add("events_panic is set but no crash kernel is loaded: a panic will not produce a dump");
        if (p.GetValueOrDefault("protect_dump") is "N" or "0")
            notes.Add("protect_dump is off: a second NMI during a panic or in the kdump kernel is not held back");
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
