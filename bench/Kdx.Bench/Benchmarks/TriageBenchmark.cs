// kdx triage (one report: class, backtrace, log, tasks, modules, memory, signature) against crash 9
// with the -dbg vmlinux running the commands an operator types for the same picture
// (`sys; bt; log; ps; mod`), on the real kdump captures of a 1 GiB guest's sysrq crash.
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class TriageBenchmark : IBenchmark
{
    public string Name => "triage";

    public string Title => "kdx triage vs crash `sys; bt; log; ps; mod` (1 GiB guest)";

    public void Run(BenchRun run)
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        var vmlinux = Oracles.EnsureDebugVmlinux(lab.Metadata.Kernel, run.Log);
        var work = Path.Combine(LabPaths.Cache, "bench");
        Directory.CreateDirectory(work);
        var commands = Path.Combine(work, "triage-crash-commands.txt");
        File.WriteAllLines(commands, ["sys", "bt", "log", "ps", "mod", "quit"]);
        var kdx = run.Kdx;

        var rows = new List<IReadOnlyList<string>>();
        using (var chroot = run.OracleChroot())
        {
            foreach (var capture in new[] { "kdump-mdf-l-d31", "kdump-mdf-c-d1" })
            {
                var dump = lab.Dump(capture);
                var size = new FileInfo(dump).Length / (1024.0 * 1024);
                var k = run.Measure($"kdx triage {capture}", kdx, ["triage", "--format", "json", dump], repeat: 5, stdoutFile: "/dev/null");
                var c = run.Measure($"crash {capture}", chroot, "crash", chroot.CrashArgs(vmlinux, [dump], commands),
                    repeat: 3, stdoutFile: "/dev/null", stdinFile: "/dev/null");
                rows.Add([string.Create(CultureInfo.InvariantCulture, $"`{capture}` ({size:0} MiB)"), k.WallText, c.WallText, Markdown.Ratio(k.SpeedupOver(c)), k.RssText, c.RssText]);
            }
        }
        run.WriteSection($"""
            Input: `LabCatalog.SysrqKdump()` — Debian {lab.Metadata.Kernel}, 1 GiB guest, 2 CPUs, sysrq crash captured by
            makedumpfile 1.7.2 in a real kdump kernel (`-l -d 31` and `-c -d 1`).
            kdx: `kdx triage --format json DUMP` (NativeAOT; no debuginfo: kallsyms, BTF and ORC from the dump).
            crash: `crash -s vmlinux-dbg DUMP -i cmds` with `sys`, `bt`, `log`, `ps`, `mod` (crash 9 from the sid chroot,
            the `linux-image-*-dbg` vmlinux). kdx 5 timed runs, crash 3, one untimed warm-up each.

            {Markdown.Table(["dump", "kdx triage", "crash sys;bt;log;ps;mod", "kdx faster by", "kdx peak RSS", "crash peak RSS"], rows)}
            """);
    }
}
