// kdx sys, log, ps, mod (NativeAOT, the dump alone) against crash 9 with the -dbg vmlinux running
// the same commands on the same 1 GiB-guest kdump, as an operator runs them: crash started once per
// command, and once for all four in one session. crash's startup (reading the DWARF vmlinux and the
// dump) is part of what an operator waits for, so it is part of every crash time.
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class KernelViewBenchmark : IBenchmark
{
    private static readonly string[] Commands = ["sys", "log", "ps", "mod"];

    public string Name => "kernel-view";

    public string Title => "Kernel view without debuginfo: kdx sys/log/ps/mod vs crash with the -dbg vmlinux";

    public void Run(BenchRun run)
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        var capture = lab.Metadata.Captures[0];
        var dump = lab.Dump(capture.Id);
        var vmlinux = Oracles.EnsureDebugVmlinux(lab.Metadata.Kernel, run.Log);
        var kdx = run.Kdx;
        var work = Directory.CreateTempSubdirectory("kdx-bench-kview-").FullName;
        try
        {
            var kdxSamples = Commands.ToDictionary(c => c, c => run.Measure($"kdx {c}", kdx, [c, dump], repeat: 5, stdoutFile: Path.Combine(work, $"kdx-{c}.txt")));
            Dictionary<string, Sample> crashSamples;
            Sample crashSession;
            using (var chroot = run.OracleChroot())
            {
                string[] crashArgs = ["-s", chroot.Inside(vmlinux), chroot.Inside(dump)];
                Sample Crash(string label, IEnumerable<string> commands)
                {
                    var input = Path.Combine(work, label.Replace(' ', '-') + ".in");
                    File.WriteAllLines(input, [.. commands, "quit"]);
                    return run.Measure(label, chroot, "crash", crashArgs, repeat: 3, stdinFile: input, stdoutFile: Path.Combine(work, label.Replace(' ', '-') + ".txt"));
                }
                crashSamples = Commands.ToDictionary(c => c, c => Crash($"crash {c}", [c]));
                crashSession = Crash("crash session", Commands);
            }
            // The outputs being timed are the ones the tests compare: ps and log byte for byte.
            foreach (var c in (string[])["ps", "log"])
            {
                var ours = File.ReadAllText(Path.Combine(work, $"kdx-{c}.txt"));
                var theirs = File.ReadAllText(Path.Combine(work, $"crash-{c}.txt"));
                if (!theirs.Contains(ours, StringComparison.Ordinal))
                    throw new InvalidOperationException($"kdx {c} and crash {c} printed different text on {dump}");
            }

            var rows = new List<IReadOnlyList<string>>();
            foreach (var c in Commands)
            {
                var (k, p) = (kdxSamples[c], crashSamples[c]);
                rows.Add([$"`{c}`", k.WallText, k.RssText, p.WallText, p.RssText, Markdown.Ratio(k.SpeedupOver(p))]);
            }
            var kdxTotal = Commands.Sum(c => kdxSamples[c].Median);
            var kdxPeak = Commands.Max(c => kdxSamples[c].PeakRssMiB);
            var crashTotal = Commands.Sum(c => crashSamples[c].Median);
            var crashPeak = Commands.Max(c => crashSamples[c].PeakRssMiB);
            var f = CultureInfo.InvariantCulture;
            rows.Add(["all four, one crash per command", string.Create(f, $"{kdxTotal:0.000} s"), $"{kdxPeak:0.0} MiB",
                string.Create(f, $"{crashTotal:0.000} s"), $"{crashPeak:0.0} MiB", Markdown.Ratio(crashTotal / kdxTotal)]);
            rows.Add(["all four, one crash session", string.Create(f, $"{kdxTotal:0.000} s"), $"{kdxPeak:0.0} MiB",
                crashSession.WallText, crashSession.RssText, Markdown.Ratio(crashSession.Median / kdxTotal)]);

            run.WriteSection(
                $"Input: lab scenario `{lab.Metadata.Name}`, capture `{capture.Id}` (makedumpfile -l -d 31 in the kdump kernel " +
                $"of a {lab.Metadata.RamMiB} MiB, {lab.Metadata.Cpus}-CPU Debian {lab.Metadata.Kernel} guest; {new FileInfo(dump).Length / (1 << 20)} MiB).\n\n" +
                $"- kdx: `{Path.GetFileName(kdx)} COMMAND DUMP`, the NativeAOT build of this checkout, nothing but the dump " +
                "(symbols from kallsyms, types from the dump's BTF); 1 warm-up, then 5 timed runs each.\n" +
                $"- crash {CrashVersion(lab)} in the lab's Debian sid chroot: `crash -s vmlinux-dbg DUMP` with the commands on stdin " +
                "(then `quit`), the -dbg package's DWARF vmlinux; 1 warm-up, then 3 timed runs each. Once per command, and once with " +
                "all four commands in one session.\n" +
                "- kdx has no session: its \"all four\" is the sum of the four medians and the largest peak RSS.\n" +
                "- Ratio: crash median / kdx median (above 1: kdx is faster). Wall time median (min-max); peak RSS from GNU time.\n\n" +
                Markdown.Table(["command", "kdx wall", "kdx peak RSS", "crash wall", "crash peak RSS", "ratio"], rows));
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    private static string CrashVersion(LabResult lab)
    {
        var versions = Path.Combine(lab.Directory, Oracles.Dir, "versions.txt");
        var line = File.Exists(versions) ? File.ReadLines(versions).FirstOrDefault(l => l.StartsWith("crash", StringComparison.Ordinal)) : null;
        return line?.Split('\t', 2)[1] ?? "9";
    }
}
