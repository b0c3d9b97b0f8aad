// What a benchmark gets: the kdx under test (NativeAOT, from this checkout), a way to time any
// command with its peak memory (GNU time's maximum resident set), the oracle chroot where the
// peers live, and its own section of bench/RESULTS.md.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class BenchRun(IBenchmark benchmark, TextWriter log)
{
    private const string GnuTime = "/usr/bin/time";
    private readonly Lazy<string> _kdx = new(() => KdxBinary.NativeAot(log), LazyThreadSafetyMode.ExecutionAndPublication);

    public TextWriter Log { get; } = log;

    public string RepoRoot => LabPaths.Repo;

    /// <summary>A NativeAOT kdx published from the current sources (cached by their hash).</summary>
    public string Kdx => _kdx.Value;

    public int Cores => Environment.ProcessorCount;

    /// <summary>CPU model, cores and host kernel, for the section's header.</summary>
    public static string Machine
    {
        get
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                .Split(':', 2)[1].Trim() ?? "unknown CPU";
            var ramKiB = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return $"{model}, {Environment.ProcessorCount} cores, {long.Parse(ramKiB, CultureInfo.InvariantCulture) / 1024 / 1024} GiB RAM, " +
                $"Linux {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}";
        }
    }

    /// <summary>
    /// Runs <paramref name="file"/> <paramref name="warmup"/> times untimed (so both sides start with
    /// the input in the page cache), then <paramref name="repeat"/> times timed. Wall time is measured
    /// here around the process; peak RSS is GNU time's %M (the largest process in the tree that ran).
    /// A run that exits with anything but <paramref name="expectedExit"/> stops the benchmark.
    /// </summary>
    public Sample Measure(string label, string file, IReadOnlyList<string> args, int repeat = 3, string? stdoutFile = null,
        string? stdinFile = null, int warmup = 1, int expectedExit = 0, Action? beforeEach = null)
    {
        if (!File.Exists(GnuTime))
            throw new InvalidOperationException($"{GnuTime} is missing: run lab/install-deps.sh (Debian package 'time')");
        var walls = new List<double>();
        double peak = 0;
        var exit = 0;
        var rssFile = Path.Combine(Path.GetTempPath(), $"kdx-bench-{Environment.ProcessId}.rss");
        for (var i = 0; i < warmup + repeat; i++)
        {
            beforeEach?.Invoke();
            var sw = Stopwatch.StartNew();
            var r = Sh.Try(GnuTime, ["-f", "%M", "-o", rssFile, file, .. args], stdinFile: stdinFile, stdoutFile: stdoutFile,
                timeout: TimeSpan.FromMinutes(30));
            sw.Stop();
            exit = r.ExitCode;
            if (exit != expectedExit)
                throw new InvalidOperationException($"{label}: {file} {string.Join(' ', args)} exited {exit}: {Sh.Tail(r.Stdout + r.Stderr, 10)}");
            if (i < warmup)
                continue;
            walls.Add(sw.Elapsed.TotalSeconds);
            var kib = File.ReadLines(rssFile).Select(l => l.Trim()).Last(l => l.Length > 0 && char.IsDigit(l[0]));
            peak = Math.Max(peak, double.Parse(kib, CultureInfo.InvariantCulture) / 1024);
        }
        File.Delete(rssFile);
        var sample = new Sample(label, walls, peak, exit);
        Log.WriteLine($"  {label}: {sample.WallText}, peak RSS {sample.RssText}");
        return sample;
    }

    /// <summary>Measures a program inside a mounted oracle chroot (crash, makedumpfile 1.7.8, drgn).</summary>
    public Sample Measure(string label, OracleChroot chroot, string file, IReadOnlyList<string> args, int repeat = 3,
        string? stdoutFile = null, string? stdinFile = null, int warmup = 1, int expectedExit = 0, Action? beforeEach = null)
    {
        var (f, a) = chroot.Command(file, args);
        return Measure(label, f, a, repeat, stdoutFile, stdinFile, warmup, expectedExit, beforeEach);
    }

    /// <summary>Mounts the lab's Debian sid oracle chroot for the caller's use (one user at a time).</summary>
    public OracleChroot OracleChroot() => Lab.OracleChroot.Open(Log);

    /// <summary>Replaces this benchmark's section of bench/RESULTS.md (or appends it).</summary>
    public void WriteSection(string markdown) => Results.WriteSection(Path.Combine(RepoRoot, "bench", "RESULTS.md"), benchmark, markdown);
}

public static class Results
{
    private const string Preamble =
        "# kdx benchmark results\n\n" +
        "Every number here was measured side by side with the peer tool, in one run, on the same input,\n" +
        "by `bench/Kdx.Bench` (see bench/README.md). Each section names the command that produced it.\n" +
        "Ratios are the peer's median wall time over kdx's: above 1 means kdx is faster.\n";

    public static void WriteSection(string path, IBenchmark benchmark, string markdown)
    {
        var begin = $"<!-- bench:{benchmark.Name} -->";
        var end = $"<!-- /bench:{benchmark.Name} -->";
        var text = File.Exists(path) ? File.ReadAllText(path) : Preamble;
        var section = new StringBuilder()
            .AppendLine(begin)
            .AppendLine($"## {benchmark.Title}")
            .AppendLine()
            .AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/Kdx.Bench -- {benchmark.Name}`")
            .AppendLine($"on {BenchRun.Machine}.")
            .AppendLine()
            .AppendLine(markdown.TrimEnd())
            .Append(end)
            .ToString();
        var i = text.IndexOf(begin, StringComparison.Ordinal);
        var j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i
            ? text[..i] + section + text[(j + end.Length)..]
            : text.TrimEnd() + "\n\n" + section + "\n";
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, true);
    }
}
