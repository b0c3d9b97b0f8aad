// kdx bt -a and kdx bt --all-tasks (NativeAOT, from the dump alone) against crash 9 with the -dbg
// vmlinux running `bt -a` and `foreach bt`, on a real kdump capture of a 1 GiB guest. Each tool is
// a fresh process per run, as an operator runs it; crash's row includes loading the DWARF vmlinux,
// so its bare startup (`quit` alone) is measured too, to show what the backtraces themselves cost.
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class BacktraceBenchmark : IBenchmark
{
    public string Name => "bt";
    public string Title => "Backtraces: kdx bt -a / --all-tasks vs crash bt -a / foreach bt";

    public void Run(BenchRun run)
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        const string CaptureId = "kdump-mdf-l-d31";
        var dump = lab.Files(CaptureId);
        var dumpSize = dump.Sum(f => new FileInfo(f).Length);
        var vmlinux = Oracles.EnsureDebugVmlinux(lab.Metadata.Kernel, run.Log);
        var work = Directory.CreateTempSubdirectory("bench-bt-").FullName;
        var scratch = Path.Combine(LabPaths.Cache, "bench-bt");
        Directory.CreateDirectory(scratch);
        try
        {
            var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
            var output = Path.Combine(work, "out.txt");
            var kdxA = run.Measure("kdx bt -a", run.Kdx, ["bt", "-a", .. dump], repeat: 5, stdoutFile: output);
            var kdxAll = run.Measure("kdx bt --all-tasks", run.Kdx, ["bt", "--all-tasks", .. dump], repeat: 5, stdoutFile: output);
            var tasks = File.ReadLines(output).Count(l => l.StartsWith("PID: ", StringComparison.Ordinal));
            var cpu = CpuSeconds(work, run.Kdx, ["bt", "--all-tasks", .. dump], output);

            Sample crashA, crashAll, crashStart;
            using (var chroot = run.OracleChroot())
            {
                Sample Crash(string label, string commands)
                {
                    var file = Path.Combine(scratch, $"{label.Replace(' ', '-')}.cmds");
                    File.WriteAllText(file, commands + "\nquit\n");
                    return run.Measure(label, chroot, "crash", chroot.CrashArgs(vmlinux, dump, file),
                        repeat: 3, stdoutFile: output);
                }
                crashStart = Crash("crash (startup, quit)", "");
                crashA = Crash("crash bt -a", "bt -a");
                crashAll = Crash("crash foreach bt", "foreach bt");
            }

            string[] headers = ["command", "kdx (NativeAOT)", "crash 9 + -dbg vmlinux", "ratio (crash/kdx)", "kdx peak RSS", "crash peak RSS"];
            var rows = new List<string[]>
            {
                Row("`bt -a` vs `bt -a`", kdxA, crashA),
                Row("`bt --all-tasks` vs `foreach bt`", kdxAll, crashAll),
            };
            run.WriteSection($"""
                Input: `{lab.Metadata.Name}/{CaptureId}` (Debian {lab.Metadata.Kernel}, {lab.Metadata.RamMiB} MiB guest,
                {lab.Metadata.Cpus} CPUs, sysrq crash captured by kdump, makedumpfile -l -d 31: {dumpSize / 1048576.0:0.0} MiB), {tasks} tasks.
                kdx: `{Path.GetFileName(run.Kdx)} bt -a DUMP` and `bt --all-tasks DUMP` (kallsyms, BTF and ORC from the dump).
                crash: `crash -s vmlinux-dbg DUMP -i CMDS` in the lab's sid chroot, CMDS = the command then `quit`.
                kdx 5 timed runs, crash 3, after one untimed run each; median wall time (min-max).

                {Markdown.Table(headers, rows)}

                crash's startup alone (reading the DWARF vmlinux and the dump, `quit`): {crashStart.WallText}, peak RSS {crashStart.RssText};
                most of each crash row is that fixed cost, which kdx does not pay (it has no debuginfo to load).
                The machine is shared: load average {string.Join(" ", load)} when the run began, so wall times are
                longer than the CPU time the tools use: one more kdx `bt --all-tasks` run used {cpu:0.00} s of user+system CPU
                (GNU time `%U + %S`).
                """);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>User plus system CPU seconds of one run (GNU time).</summary>
    private static double CpuSeconds(string work, string file, IReadOnlyList<string> args, string output)
    {
        var times = Path.Combine(work, "cpu.txt");
        var r = Sh.Try("/usr/bin/time", ["-f", "%U %S", "-o", times, file, .. args], stdoutFile: output);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{file} exited {r.ExitCode}: {Sh.Tail(r.Stderr, 5)}");
        return File.ReadLines(times).Last(l => l.Length > 0 && char.IsDigit(l[0])).Split(' ')
            .Sum(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string[] Row(string what, Sample kdx, Sample crash) =>
        [what, kdx.WallText, crash.WallText, Markdown.Ratio(kdx.SpeedupOver(crash)), kdx.RssText, crash.RssText];
}
