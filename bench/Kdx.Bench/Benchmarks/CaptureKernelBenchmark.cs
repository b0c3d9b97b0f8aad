// capture-kernel: kdx capture against makedumpfile 1.7.2 where a core collector really runs — inside
// the kdump capture kernel (nr_cpus=1, crashkernel=256M) of a sysrq-crashed 1 GiB lab guest, on its
// real /proc/vmcore, under QEMU TCG. The guest does the timing (lab/guest/capture-bench.sh, the
// scenario's capture script) and prints one KDXLAB-BENCH line per run on the serial console; this
// class builds the scenario (cached by its inputs, the kdx binary's bytes among them), reads those
// lines back and writes the section. A missing, malformed or failed line stops the benchmark.
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class CaptureKernelBenchmark : IBenchmark
{
    private const string Kdx = "kdx";
    private const string Makedumpfile = "makedumpfile";

    public string Name => "capture-kernel";

    public string Title => "kdx capture vs makedumpfile inside the kdump capture kernel (real /proc/vmcore, QEMU TCG)";

    public void Run(BenchRun run)
    {
        var started = DateTime.UtcNow;
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        var scenario = LabCatalog.CaptureKernelBench(run.Kdx);
        var lab = LabBuilder.Build(scenario, run.Log);
        var loadAfter = File.ReadAllText("/proc/loadavg").Trim();
        var report = GuestReport.Parse(lab.ConsoleLog);
        var m = lab.Metadata;
        var builtNow = DateTime.Parse(m.BuiltUtc, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal) >= started.AddSeconds(-1);

        var rows = new List<IReadOnlyList<string>>();
        foreach (var (phase, options, _) in report.Plan.Where(p => p.Phase != "first"))
        {
            var kdx = report.Sample(phase, options, Kdx);
            var kdxBytes = report.Bytes(phase, options, Kdx);
            foreach (var tool in new[] { Kdx, Makedumpfile })
            {
                var s = report.Sample(phase, options, tool);
                var bytes = report.Bytes(phase, options, tool);
                var cpu = report.Runs(phase, options, tool).Select(r => r.User + r.Sys).Order().ElementAt(s.WallSeconds.Count / 2);
                rows.Add(
                [
                    Describe(phase, options, tool),
                    tool == Kdx ? "kdx capture" : "makedumpfile 1.7.2",
                    s.WallText,
                    tool == Kdx ? "1.00x" : Markdown.Ratio(s.Median / kdx.Median),
                    cpu.ToString("0.00 s", CultureInfo.InvariantCulture),
                    phase == "capture" ? $"{bytes / 1048576.0:0.00} MiB" : "-",
                    phase == "capture" ? $"{(double)bytes / kdxBytes:0.000}" : "-",
                    s.RssText,
                ]);
            }
        }

        var (firstPhase, firstOptions, _) = report.Plan.Single(p => p.Phase == "first");
        var firstRows = new List<IReadOnlyList<string>>();
        foreach (var tool in new[] { Kdx, Makedumpfile })
        {
            var first = report.Sample(firstPhase, firstOptions, tool);
            var warm = report.Sample("capture", firstOptions, tool);
            firstRows.Add([tool == Kdx ? "kdx capture" : "makedumpfile 1.7.2", Words(firstOptions), $"{first.Median:0.00} s",
                $"{warm.Median:0.00} s", $"{first.Median - warm.Median:+0.00;-0.00} s"]);
        }

        var kdxL31 = report.Sample("capture", "-l,-d,31", Kdx).Median;
        var mdfL31 = report.Sample("capture", "-l,-d,31", Makedumpfile).Median;
        var kdxStart = report.Sample("start", "--version", Kdx).Median;
        var mdfStart = report.Sample("start", "--version", Makedumpfile).Median;
        var kdxClassify = report.Sample("classify", "--dry-run,-d,31", Kdx).Median;
        var mdfClassify = report.Sample("classify", "--dry-run,-d,31", Makedumpfile).Median;
        var qemu = Sh.Try("qemu-system-x86_64", ["--version"]).Stdout.Split('\n')[0].Trim();
        var memTotal = long.Parse(report.Fact("memtotal_kib"), CultureInfo.InvariantCulture);
        var tmpfs = long.Parse(report.Fact("tmpfs_kib"), CultureInfo.InvariantCulture);
        var vmcore = long.Parse(report.Fact("vmcore_bytes"), CultureInfo.InvariantCulture);
        var plan = string.Join(", ", report.Plan.Where(p => p.Phase != "first").Select(p => $"{Describe(p.Phase, p.Options, Kdx)} x{p.Runs}"));

        run.WriteSection(
            "**These are QEMU TCG times, not real-hardware times.** The guest CPU is emulated (every guest instruction\n" +
            "is translated, then run, on the host), so only the ratios between the two tools mean something, and\n" +
            "only for this kind of machine; absolute seconds are many times a real CPU's.\n\n" +
            $"Where: the kdump capture kernel of lab scenario `LabCatalog.CaptureKernelBench` (`{m.Name}`): Debian {report.Fact("release")}\n" +
            $"({m.KernelPackageVersion}), a {m.RamMiB} MiB, {m.Cpus}-CPU guest crashed by sysrq with `crashkernel={m.CrashKernelMiB}M`; the capture kernel\n" +
            $"saw {report.Fact("cpus")} CPU(s) and MemTotal {memTotal / 1024.0:0} MiB ({memTotal} kB), /proc/vmcore {vmcore / 1048576.0:0} MiB, a tmpfs /tmp of {tmpfs / 1024.0:0} MiB;\n" +
            $"its command line: `{report.Fact("cmdline")}`. Host: {qemu}, `-accel tcg -cpu qemu64`.\n" +
            $"Tools: `{report.Fact("kdx")}` (NativeAOT, put in the initramfs with its libraries by `--file`) and\n" +
            $"`{report.Fact("makedumpfile")}` (the initramfs's, Debian 12's). kdx loads the initramfs's libz.so.1 and liblzo2.so.2,\n" +
            "so both compress with the same libraries (kdx's output is byte for byte makedumpfile's, docs/capture.md).\n\n" +
            "How (lab/guest/capture-bench.sh, run by the capture kernel before the lab's collector): each tool first runs once\n" +
            $"untimed (`{Words(firstOptions)}`), which takes TCG's first translation of the program's code out of both (see the\n" +
            "second table); then, alternating kdx and makedumpfile run by run, " + plan + ".\n" +
            "Every run reads /proc/vmcore and writes to the capture kernel's tmpfs /tmp; the output is deleted after each run\n" +
            "(its size recorded first). stdout and stderr go to a file in /tmp (default message levels). Wall time, user/sys time\n" +
            "and peak RSS are busybox `time -f \"%e %U %S %M\"` (10 ms resolution); the guest clock follows the host's.\n" +
            "Ratio: makedumpfile's median over kdx's (above 1: kdx faster). Peak RSS: the largest over the timed runs.\n\n" +
            Markdown.Table(["options", "tool", "wall (median, min-max)", "makedumpfile time / kdx time", "CPU user+sys (median)",
                "output", "size / kdx size", "peak RSS"], rows) +
            "\nFirst run of each program in this capture kernel (untimed above) against its later runs with the same options:\n\n" +
            Markdown.Table(["tool", "options", "first run", "later runs (median)", "first - later"], firstRows) +
            $"\nWhere kdx's `-l -d 31` time goes: process start-up alone (`--version`) is {kdxStart:0.00} s of its {kdxL31:0.00} s " +
            $"(makedumpfile -v: {mdfStart:0.00} s of {mdfL31:0.00} s);\nstart-up plus classifying every page (`--dry-run -d 31`) is {kdxClassify:0.00} s " +
            $"(makedumpfile: {mdfClassify:0.00} s); the rest, {kdxL31 - kdxClassify:0.00} s against makedumpfile's {mdfL31 - mdfClassify:0.00} s, is reading,\n" +
            "compressing and writing the kept pages.\n\n" +
            (builtNow
                ? $"The guest ran during this benchmark ({m.BuildSeconds:0} s for the whole scenario); host /proc/loadavg `{loadBefore}` before, `{loadAfter}` after\n" +
                  "(the machine is shared: TCG slows down with the host's load, alike for both tools since they alternate).\n"
                : $"The guest ran at {m.BuiltUtc} (the lab's cached scenario: same kdx binary, same script); a new kdx is a new run.\n"));
    }

    private static string Words(string options) => options.Replace(',', ' ');

    private static string Describe(string phase, string options, string tool) => phase switch
    {
        "start" => tool == Kdx ? "`--version` (process start)" : "`-v` (process start)",
        "classify" => $"`{Words(options)}` (classify, write nothing)",
        _ => $"`{Words(options)}`",
    };

    /// <summary>One timed run as the guest reported it.</summary>
    private sealed record GuestRun(string Phase, string Options, string Tool, int Index, double Wall, double User, double Sys, long RssKiB, long Bytes);

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

        public Sample Sample(string phase, string options, string tool)
        {
            var runs = Runs(phase, options, tool).ToList();
            if (runs.Count == 0)
                throw new InvalidOperationException($"no {tool} run of {phase} {options} in the capture kernel's report");
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
            var failures = new List<string>();
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
                        var run = ParseRun(rest, where, out var rc);
                        if (rc != 0)
                            failures.Add($"{where}: {run.Tool} {Words(run.Options)} ({run.Phase} run {run.Index}) exited {rc}");
                        report._runs.Add(run);
                        break;
                    case "log":
                        failures.Add("  " + rest);
                        break;
                    case "done":
                        done = true;
                        break;
                    default:
                        throw new InvalidOperationException($"{where}: unknown line '{line}'");
                }
            }
            if (failures.Count > 0)
                throw new InvalidOperationException("runs failed in the capture kernel:\n" + string.Join('\n', failures));
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

        private static GuestRun ParseRun(string text, string where, out int rc)
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
            rc = (int)Integer(values, "rc", where);
            return new GuestRun(values["phase"], values["opts"], tool, (int)Integer(values, "i", where),
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
