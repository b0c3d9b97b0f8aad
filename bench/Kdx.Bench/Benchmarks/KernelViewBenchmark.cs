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
            var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
            // Where kdx's time goes: opening the dump, then decoding kallsyms, then parsing BTF, each a command that stops there.
            (string Step, string[] Args)[] steps =
            [
                ("open the dump, read VMCOREINFO (`info`)", ["info", dump]),
                ("+ decode kallsyms (`sym DUMP panic`)", ["sym", dump, "panic"]),
                ("+ parse the kernel's BTF (`struct DUMP list_head`)", ["struct", dump, "list_head"]),
            ];
            var stepSamples = steps.Select(s => (s.Step, Sample: run.Measure($"kdx {s.Args[0]}", kdx, s.Args, repeat: 5, stdoutFile: Path.Combine(work, "step.txt")))).ToList();

            // kdx and crash alternate, command by command and round by round, so both see the same load on a shared machine.
            const int rounds = 3;
            var kdxRuns = Commands.ToDictionary(c => c, _ => new List<Sample>());
            var crashRuns = Commands.ToDictionary(c => c, _ => new List<Sample>());
            var sessionRuns = new List<Sample>();
            using (var chroot = run.OracleChroot())
            {
                var crashArgs = chroot.CrashArgs(vmlinux, [dump]);
                Sample Crash(string label, IEnumerable<string> commands, int warmup)
                {
                    var input = Path.Combine(work, label.Replace(' ', '-') + ".in");
                    File.WriteAllLines(input, [.. commands, "quit"]);
                    return run.Measure(label, chroot, "crash", crashArgs, repeat: 1, warmup: warmup, stdinFile: input,
                        stdoutFile: Path.Combine(work, label.Replace(' ', '-') + ".txt"));
                }
                for (var round = 0; round < rounds; round++)
                {
                    var warmup = round == 0 ? 1 : 0;
                    foreach (var c in Commands)
                    {
                        kdxRuns[c].Add(run.Measure($"kdx {c}", kdx, [c, dump], repeat: 3, warmup: warmup, stdoutFile: Path.Combine(work, $"kdx-{c}.txt")));
                        crashRuns[c].Add(Crash($"crash {c}", [c], warmup));
                    }
                    sessionRuns.Add(Crash("crash session", Commands, warmup));
                }
            }
            var loadAfter = File.ReadAllText("/proc/loadavg").Trim();
            static Sample Merge(List<Sample> runs) => new(runs[0].Label, [.. runs.SelectMany(r => r.WallSeconds)], runs.Max(r => r.PeakRssMiB), runs[^1].ExitCode);
            var kdxSamples = Commands.ToDictionary(c => c, c => Merge(kdxRuns[c]));
            var crashSamples = Commands.ToDictionary(c => c, c => Merge(crashRuns[c]));
            var crashSession = Merge(sessionRuns);

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
                "(symbols from kallsyms, types from the dump's BTF).\n" +
                $"- crash {CrashVersion(lab)} in the lab's Debian sid chroot: `crash -s vmlinux-dbg DUMP` with the commands on stdin " +
                "(then `quit`), the -dbg package's DWARF vmlinux. Once per command, and once with all four commands in one session.\n" +
                $"- The two alternate so both see the same load: {rounds} rounds of (for each command: kdx 3 times, crash once; then the " +
                "crash session), after one untimed warm-up of each. The machine is shared with other work: load average " +
                $"`{loadBefore}` before, `{loadAfter}` after.\n" +
                "- kdx has no session: its \"all four\" is the sum of the four medians and the largest peak RSS.\n" +
                "- Ratio: crash median / kdx median (above 1: kdx is faster). Wall time median (min-max); peak RSS from GNU time.\n\n" +
                Markdown.Table(["command", "kdx wall", "kdx peak RSS", "crash wall", "crash peak RSS", "ratio"], rows) +
                "\nWhere kdx's time goes (each command stops after the step; the rest of `sys`/`log`/`ps`/`mod` is the walk of " +
                "tasks, modules or the log):\n\n" +
                Markdown.Table(["kdx step", "wall", "peak RSS"], stepSamples.Select(s => (IReadOnlyList<string>)[s.Step, s.Sample.WallText, s.Sample.RssText])));
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
