// capture-kernel: kdx capture against makedumpfile 1.7.2 where a core collector really runs — inside
// the kdump capture kernel (nr_cpus=1, crashkernel=256M) of a sysrq-crashed 1 GiB lab guest, on its
// real /proc/vmcore, under QEMU TCG. The guest does the timing (lab/guest/capture-bench.sh, the
// scenario's capture script) and prints one KDXLAB-BENCH line per run on the serial console; this
// class builds the scenario (cached by its inputs, the kdx binary's bytes among them), reads those
// lines back and writes the section. A missing or malformed line stops the benchmark; a run that
// failed in the guest is a row saying so (with the tool's message), and then the benchmark exits non-zero.
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class CaptureKernelBenchmark : IBenchmark
{
    private const string Kdx = "kdx";
    private const string Makedumpfile = "makedumpfile";

    public string Name => "capture-kernel";

    public string Title => "kdx capture vs makedumpfile inside the kdump capture kernel (real /proc/vmcore, QEMU TCG)";

    /// <summary>Crash instances measured: each boot of the scenario has its own KASLR offset and crashkernel position.</summary>
    private static readonly int[] Boots = [0, 1];

    public void Run(BenchRun run)
    {
        var measured = new List<(int Boot, LabResult Lab, GuestReport Report, string Load)>();
        foreach (var boot in Boots)
        {
            var started = DateTime.UtcNow;
            var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
            var lab = LabBuilder.Build(LabCatalog.CaptureKernelBench(run.Kdx, boot), run.Log);
            var builtNow = DateTime.Parse(lab.Metadata.BuiltUtc, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal) >= started.AddSeconds(-1);
            var load = builtNow
                ? $"ran now: host /proc/loadavg `{loadBefore}` before, `{File.ReadAllText("/proc/loadavg").Trim()}` after"
                : "lab cache (same kdx and script)";
            measured.Add((boot, lab, GuestReport.Parse(lab.ConsoleLog), load));
        }

        var rows = new List<IReadOnlyList<string>>();
        var firstRows = new List<IReadOnlyList<string>>();
        var bootRows = new List<IReadOnlyList<string>>();
        var failures = new List<string>();
        var notes = new List<string>();
        foreach (var (boot, lab, report, load) in measured)
        {
            foreach (var (phase, options, _) in report.Plan.Where(p => p.Phase != "first"))
            {
                var kdxOk = report.Failure(phase, options, Kdx) is null;
                foreach (var tool in new[] { Kdx, Makedumpfile })
                {
                    var label = Describe(phase, options, tool);
                    var name = ToolName(report, tool);
                    if (report.Failure(phase, options, tool) is { } why)
                    {
                        failures.Add($"boot {boot}, {name} {label}: {why}");
                        rows.Add([boot.ToString(CultureInfo.InvariantCulture), label, name, "failed (below)", "-", "-", "-", "-", "-"]);
                        continue;
                    }
                    var s = report.Sample(phase, options, tool);
                    var bytes = report.Bytes(phase, options, tool);
                    var user = Median(report.Runs(phase, options, tool).Select(r => r.User));
                    var sys = Median(report.Runs(phase, options, tool).Select(r => r.Sys));
                    var written = phase == "capture";
                    rows.Add(
                    [
                        boot.ToString(CultureInfo.InvariantCulture), label, name, s.WallText,
                        tool == Kdx ? "1.00x" : kdxOk ? Markdown.Ratio(s.Median / report.Sample(phase, options, Kdx).Median) : "-",
                        string.Create(CultureInfo.InvariantCulture, $"{user:0.00} s / {sys:0.00} s"),
                        written ? $"{bytes / 1048576.0:0.00} MiB" : "-",
                        written && kdxOk ? $"{(double)bytes / report.Bytes(phase, options, Kdx):0.000}" : "-",
                        s.RssText,
                    ]);
                }
            }

            var (firstPhase, firstOptions, _) = report.Plan.Single(p => p.Phase == "first");
            foreach (var tool in new[] { Kdx, Makedumpfile })
            {
                var name = ToolName(report, tool);
                if (report.Failure(firstPhase, firstOptions, tool) is { } why)
                {
                    failures.Add($"boot {boot}, {name} `{Words(firstOptions)}` (first, untimed run): {why}");
                    firstRows.Add([boot.ToString(CultureInfo.InvariantCulture), name, Words(firstOptions), "failed (below)", "-", "-"]);
                    continue;
                }
                var first = report.Sample(firstPhase, firstOptions, tool).Median;
                var warm = report.Failure("capture", firstOptions, tool) is null ? report.Sample("capture", firstOptions, tool).Median : double.NaN;
                firstRows.Add([boot.ToString(CultureInfo.InvariantCulture), name, Words(firstOptions), $"{first:0.00} s",
                    double.IsNaN(warm) ? "-" : $"{warm:0.00} s", double.IsNaN(warm) ? "-" : $"{first - warm:+0.00;-0.00} s"]);
            }

            var memTotal = long.Parse(report.Fact("memtotal_kib"), CultureInfo.InvariantCulture);
            bootRows.Add([boot.ToString(CultureInfo.InvariantCulture), $"`{lab.Metadata.Name}`", report.Fact("cpus"),
                $"{memTotal / 1024.0:0} MiB", $"{long.Parse(report.Fact("vmcore_bytes"), CultureInfo.InvariantCulture) / 1048576.0:0} MiB",
                $"{long.Parse(report.Fact("tmpfs_kib"), CultureInfo.InvariantCulture) / 1024.0:0} MiB", $"{lab.Metadata.BuiltUtc} ({load})"]);
            if (TimeSplit(report) is { } split)
                notes.Add($"boot {boot}: {split}");
        }

        var facts = measured[0].Report;
        var m = measured[0].Lab.Metadata;
        var plan = string.Join(", ", facts.Plan.Where(p => p.Phase != "first").Select(p => $"{Describe(p.Phase, p.Options, Kdx)} x{p.Runs}"));
        var qemu = Sh.Try("qemu-system-x86_64", ["--version"]).Stdout.Split('\n')[0].Trim();
        run.WriteSection(
            "**These are QEMU TCG times, not real-hardware times.** The guest CPU is emulated (every guest instruction\n" +
            "is translated, then run, on the host), so only the ratios between the two tools mean something, and\n" +
            "only for this kind of machine; absolute seconds are many times a real CPU's.\n\n" +
            $"Where: the kdump capture kernel of lab scenario `LabCatalog.CaptureKernelBench(kdx, boot)`: Debian {facts.Fact("release")}\n" +
            $"({m.KernelPackageVersion}), a {m.RamMiB} MiB, {m.Cpus}-CPU guest crashed by sysrq with `crashkernel={m.CrashKernelMiB}M`, booted {Boots.Length} times\n" +
            "(each boot is its own crash: another KASLR offset, another crashkernel position, other memory contents).\n" +
            $"The capture kernel's command line: `{facts.Fact("cmdline")}`; the CPU caches it sees: {facts.Fact("cpu_caches")}.\n" +
            $"Host: {qemu}, `-accel tcg -cpu qemu64`.\n" +
            $"Tools: `{facts.Fact("kdx")}` (NativeAOT, put in the initramfs with its libraries by `--file`) and\n" +
            $"`{facts.Fact("makedumpfile")}` (the initramfs's, Debian 12's). kdx loads the initramfs's libz.so.1 and liblzo2.so.2,\n" +
            "so both compress with the same libraries.\n\n" +
            Markdown.Table(["boot", "lab scenario", "capture kernel CPUs", "MemTotal", "/proc/vmcore", "tmpfs /tmp", "guest ran at (UTC)"], bootRows) +
            "\nHow (lab/guest/capture-bench.sh, run by the capture kernel before the lab's collector): each tool first runs once\n" +
            $"untimed (`{Words(facts.Plan.Single(p => p.Phase == "first").Options)}`), which takes TCG's first translation of the program's code out of both\n" +
            "(second table); then, alternating kdx and makedumpfile run by run, " + plan + ".\n" +
            "Every run reads /proc/vmcore and writes to the capture kernel's tmpfs /tmp; the output is deleted after each run\n" +
            "(its size recorded first). stdout and stderr go to a file in /tmp (default message levels). Wall time, user/sys time\n" +
            "and peak RSS are busybox `time -f \"%e %U %S %M\"` (10 ms resolution); the guest clock follows the host's. busybox 1.35's\n" +
            $"%M is ru_maxrss multiplied by the page size in KiB, so the script divides it by {facts.Fact("page_kib")} (on the host, busybox's %M for\n" +
            "one program is 4 times GNU time's). Ratio: makedumpfile's median over kdx's (above 1: kdx faster).\n" +
            "Peak RSS: the largest over the timed runs.\n\n" +
            Markdown.Table(["boot", "options", "tool", "wall (median, min-max)", "makedumpfile time / kdx time", "CPU user / sys (medians)",
                "output", "size / kdx size", "peak RSS"], rows) +
            "\nFirst run of each program in the capture kernel (untimed above) against its later runs with the same options:\n\n" +
            Markdown.Table(["boot", "tool", "options", "first run", "later runs (median)", "first - later"], firstRows) +
            (notes.Count > 0 ? "\nWhere the `-l -d 31` time goes:\n" + string.Concat(notes.Select(n => $"- {n}\n")) : "") +
            (failures.Count > 0 ? "\nFailed runs (the first failed run's messages):\n" + string.Concat(failures.Select(f => $"- {f}\n")) : "") +
            (failures.Any(f => f.Contains(MmapRefused, StringComparison.Ordinal)) ? MmapRefusedNote : ""));
        if (failures.Count > 0)
            throw new InvalidOperationException($"{failures.Count} tool/option pair(s) failed in the capture kernel (written to bench/RESULTS.md):\n" + string.Join('\n', failures));
    }

    // kdx's process start-up (--version) and classification (--dry-run, start-up included) against its whole -l -d 31
    // run. Not for makedumpfile: its --dry-run reads every kept page too (only write() is skipped), so it splits nothing.
    private static string? TimeSplit(GuestReport report)
    {
        (string Phase, string Options)[] parts = [("start", "--version"), ("classify", "--dry-run,-d,31"), ("capture", "-l,-d,31")];
        if (parts.Any(p => report.Failure(p.Phase, p.Options, Kdx) is not null || report.Failure("capture", "-l,-d,31", Makedumpfile) is not null))
            return null;
        var start = report.Sample("start", "--version", Kdx).Median;
        var classify = report.Sample("classify", "--dry-run,-d,31", Kdx).Median;
        var all = report.Sample("capture", "-l,-d,31", Kdx).Median;
        var mdfStart = report.Sample("start", "--version", Makedumpfile).Median;
        var mdfAll = report.Sample("capture", "-l,-d,31", Makedumpfile).Median;
        return FormattableString.Invariant(
                $"kdx {all:0.00} s = start-up {start:0.00} s + classification {classify - start:0.00} s + reading, compressing, writing {all - classify:0.00} s; ") +
            FormattableString.Invariant($"makedumpfile {mdfAll:0.00} s = start-up {mdfStart:0.00} s + the rest {mdfAll - mdfStart:0.00} s ") +
            "(medians; start-up is `--version` / `-v`, kdx's classification is its `--dry-run -d 31` less start-up; " +
            "makedumpfile's `--dry-run` skips only write(), so it does not split its time).";
    }

    // How .NET words EAGAIN from mmap, and what a test program in the same capture kernel showed about it.
    private const string MmapRefused = "being used by another process";
    private const string MmapRefusedNote =
        "\n`The process cannot access the file because it is being used by another process` is .NET's wording for EAGAIN:\n" +
        "the capture kernel refused an mmap of /proc/vmcore. A test program in the same capture kernel (6.1.0-56-amd64) showed when:\n" +
        "mapping /proc/vmcore's first 2 MiB (ELF headers, notes, then the kernel-text PT_LOAD, whose physical pages are also\n" +
        "in a RAM PT_LOAD) fails with EAGAIN while a 2 MiB window of that RAM PT_LOAD covering part of the same physical pages\n" +
        "is mapped, and succeeds before and after (most likely x86 PAT: a mapping built from several remaps must find one\n" +
        "memory type on all its pages, and the other window's reservation gives part of them another). kdx's windows are\n" +
        "2 MiB-aligned in the file, so they straddle PT_LOADs; makedumpfile ends each mapping at its PT_LOAD's end and falls\n" +
        "back to read() when mmap fails. The stack trace after the message is a second problem: the window evicted for the\n" +
        "failed mapping was already unmapped but stays in its slot, and disposing the source unmaps it again.\n";

    // "kdx capture" or "makedumpfile 1.7.2" (the version the guest's makedumpfile -v printed).
    private static string ToolName(GuestReport report, string tool)
    {
        if (tool == Kdx)
            return "kdx capture";
        var words = report.Fact("makedumpfile").Split(' ');
        var at = Array.IndexOf(words, "version");
        return at >= 0 && at + 1 < words.Length ? $"makedumpfile {words[at + 1]}" : "makedumpfile";
    }

    private static double Median(IEnumerable<double> values) => new Sample("", values.ToList(), 0, 0).Median;

    private static string Words(string options) => options.Replace(',', ' ');

    private static string Describe(string phase, string options, string tool) => phase switch
    {
        "start" => tool == Kdx ? "`--version` (process start)" : "`-v` (process start)",
        // makedumpfile's --dry-run does everything but write(): it reads (and would compress) every kept page
        "classify" => tool == Kdx ? $"`{Words(options)}` (classify only)" : $"`{Words(options)}` (all but write(): reads every kept page)",
        _ => $"`{Words(options)}`",
    };

    /// <summary>One timed run as the guest reported it.</summary>
    private sealed record GuestRun(string Phase, string Options, string Tool, int Index, int ExitCode, double Wall, double User, double Sys, long RssKiB, long Bytes)
    {
        /// <summary>A failed run's messages (its last lines of stdout and stderr).</summary>
        public List<string> Log { get; } = [];
    }

    /// <summary>The KDXLAB-BENCH lines of a console log, checked against the plan the guest announced.</summary>
    private sealed class GuestReport
    {
        private const string Prefix = "KDXLAB-BENCH ";
        private static readonly string[] RunKeys = ["phase", "opts", "tool", "i", "rc", "wall", "user", "sys", "rss_kib", "bytes"];
        private readonly Dictionary<string, string> _facts = [];
        private readonly List<GuestRun> _runs = [];

        public List<(string Phase, string Options, int Runs)> Plan { get; } = [];

        public string Fact(string name) => _facts.TryGetValue(name, out var v) && v.Length > 0
            ? v
            : throw new InvalidOperationException($"the capture kernel did not report '{name}' (KDXLAB-BENCH fact {name} ...)");

        public IEnumerable<GuestRun> Runs(string phase, string options, string tool) =>
            _runs.Where(r => r.Phase == phase && r.Options == options && r.Tool == tool);

        /// <summary>Null when every run of the tool succeeded; else how many failed and the first failure's message.</summary>
        public string? Failure(string phase, string options, string tool)
        {
            var runs = Runs(phase, options, tool).ToList();
            var failed = runs.Where(r => r.ExitCode != 0).ToList();
            if (failed.Count == 0)
                return null;
            // The tool's own message, not its progress lines or a stack trace's frames.
            var message = failed[0].Log.FirstOrDefault(l => !l.StartsWith("Copying data", StringComparison.Ordinal) && !l.StartsWith("at ", StringComparison.Ordinal))
                ?? "(no message)";
            return $"{failed.Count} of {runs.Count} runs exited {string.Join("/", failed.Select(r => r.ExitCode).Distinct())}: " +
                   $"`{(message.Length > 300 ? message[..300] + "..." : message)}`" +
                   (failed[0].Log.Any(l => l.StartsWith("kdx: internal error", StringComparison.Ordinal)) ? " then `kdx: internal error` with a stack trace" : "");
        }

        public Sample Sample(string phase, string options, string tool)
        {
            var runs = Runs(phase, options, tool).ToList();
            if (runs.Count == 0)
                throw new InvalidOperationException($"no {tool} run of {phase} {options} in the capture kernel's report");
            if (runs.Any(r => r.ExitCode != 0))
                throw new InvalidOperationException($"{tool} {Words(options)} failed in the capture kernel: no time to report");
            return new Sample($"{tool} {Words(options)}", runs.Select(r => r.Wall).ToList(), runs.Max(r => r.RssKiB) / 1024.0, 0);
        }

        /// <summary>The output size, the same in every run (a different size would mean different dumps).</summary>
        public long Bytes(string phase, string options, string tool)
        {
            var sizes = Runs(phase, options, tool).Select(r => r.Bytes).Distinct().ToList();
            if (sizes.Count != 1)
                throw new InvalidOperationException($"{tool} {Words(options)} wrote {string.Join(", ", sizes)} bytes in its runs: not one size");
            return sizes[0];
        }

        public static GuestReport Parse(string consoleLog)
        {
            var report = new GuestReport();
            var done = false;
            GuestRun? last = null;
            var lineNo = 0;
            foreach (var raw in File.ReadLines(consoleLog))
            {
                lineNo++;
                var line = raw.TrimEnd('\r');
                if (!line.StartsWith(Prefix, StringComparison.Ordinal))
                    continue;
                var where = $"{consoleLog}:{lineNo}";
                var body = line[Prefix.Length..];
                var space = body.IndexOf(' ');
                var kind = space < 0 ? body : body[..space];
                var rest = space < 0 ? "" : body[(space + 1)..];
                switch (kind)
                {
                    case "fact":
                        var sp = rest.IndexOf(' ');
                        report._facts[sp < 0 ? rest : rest[..sp]] = sp < 0 ? "" : rest[(sp + 1)..].Trim();
                        break;
                    case "plan":
                        var parts = rest.Split(':');
                        if (parts.Length != 3 || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                            throw new InvalidOperationException($"{where}: plan '{rest}' is not PHASE:OPTIONS:RUNS");
                        report.Plan.Add((parts[0], parts[1], n));
                        break;
                    case "run":
                        last = ParseRun(rest, where);
                        report._runs.Add(last);
                        break;
                    case "log":
                        if (last is null || last.ExitCode == 0)
                            throw new InvalidOperationException($"{where}: a log line that follows no failed run");
                        last.Log.Add(rest);
                        break;
                    case "done":
                        done = true;
                        break;
                    default:
                        throw new InvalidOperationException($"{where}: unknown line '{line}'");
                }
            }
            if (!done)
                throw new InvalidOperationException($"{consoleLog}: the capture kernel's benchmark never finished (no 'KDXLAB-BENCH done')");
            if (report.Plan.Count(p => p.Phase == "first") != 1)
                throw new InvalidOperationException($"{consoleLog}: the plan needs exactly one 'first' phase");
            foreach (var (phase, options, runs) in report.Plan)
                foreach (var tool in new[] { Kdx, Makedumpfile })
                {
                    var got = report.Runs(phase, options, tool).Count();
                    if (got != runs)
                        throw new InvalidOperationException($"{consoleLog}: {runs} {tool} runs of {phase} {options} planned, {got} reported");
                }
            if (report._runs.Count != report.Plan.Sum(p => p.Runs) * 2)
                throw new InvalidOperationException($"{consoleLog}: {report._runs.Count} runs reported, not the plan's {report.Plan.Sum(p => p.Runs) * 2}");
            return report;
        }

        private static GuestRun ParseRun(string text, string where)
        {
            var values = new Dictionary<string, string>();
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = word.IndexOf('=');
                if (eq <= 0 || !values.TryAdd(word[..eq], word[(eq + 1)..]))
                    throw new InvalidOperationException($"{where}: '{word}' in a run line is not a single KEY=VALUE");
            }
            foreach (var key in RunKeys)
                if (!values.TryGetValue(key, out var v) || v.Length == 0)
                    throw new InvalidOperationException($"{where}: the run line has no {key}=: '{text}'");
            string tool = values["tool"];
            if (tool is not (Kdx or Makedumpfile))
                throw new InvalidOperationException($"{where}: unknown tool '{tool}'");
            return new GuestRun(values["phase"], values["opts"], tool, (int)Integer(values, "i", where), (int)Integer(values, "rc", where),
                Seconds(values, "wall", where), Seconds(values, "user", where), Seconds(values, "sys", where),
                Integer(values, "rss_kib", where), Integer(values, "bytes", where));
        }

        private static long Integer(Dictionary<string, string> values, string key, string where) =>
            long.TryParse(values[key], NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new InvalidOperationException($"{where}: {key}={values[key]} is not a whole number");

        private static double Seconds(Dictionary<string, string> values, string key, string where) =>
            double.TryParse(values[key], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new InvalidOperationException($"{where}: {key}={values[key]} is not a time in seconds");
    }
}
