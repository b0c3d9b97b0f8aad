// Source lines with debuginfo: `kdx bt -a -l` (DWARF line tables of the -dbg vmlinux, read from
// the memory-mapped file, plus crashtest.ko for the module frames) against crash 9's `bt -a -l`
// with the same vmlinux, and `kdx sym -l` for one position against binutils' addr2line on the
// vmlinux, all on the lab's oops dump (KASLR on).
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class SourceLinesBenchmark : IBenchmark
{
    public string Name => "bt-lines";

    public string Title => "Source lines: kdx bt -a -l / sym -l vs crash bt -a -l / addr2line (-dbg vmlinux)";

    public void Run(BenchRun run)
    {
        var lab = LabCatalog.Build(LabCatalog.Kind(CrashKind.Oops));
        var dump = lab.Files("qemu-kdump-zlib")[0];
        var release = lab.Metadata.Kernel;
        var vmlinux = Oracles.EnsureDebugFiles(release, run.Log).Vmlinux;
        var ko = GuestBinaries.CrashTestModule(release);
        var kdx = run.Kdx;

        // The link-time address of panic+0x10 for addr2line (System.map of the -dbg package).
        var panic = File.ReadLines(Oracles.EnsureDebugFiles(release).SystemMap).Select(l => l.Split(' '))
            .First(p => p.Length == 3 && p[2] == "panic")[0];
        var address = "0x" + (ulong.Parse(panic, NumberStyles.HexNumber, CultureInfo.InvariantCulture) + 0x10).ToString("x", CultureInfo.InvariantCulture);

        var kdxBt = run.Measure("kdx bt -a -l", kdx, ["bt", "-a", "-l", dump, "--vmlinux", vmlinux, "--debug-dir", Path.GetDirectoryName(ko)!]);
        var kdxSym = run.Measure("kdx sym -l", kdx, ["sym", "-l", dump, "panic+0x10", "--vmlinux", vmlinux]);
        var addr2line = run.Measure("addr2line", "addr2line", ["-e", vmlinux, address]);
        Sample crash;
        var work = Path.Combine(LabPaths.Cache, "tmp-bench-bt-lines");
        Directory.CreateDirectory(work);
        try
        {
            var cmds = Path.Combine(work, "bt-a-l.commands");
            File.WriteAllLines(cmds, ["bt -a -l", "quit"]);
            using var chroot = run.OracleChroot();
            crash = run.Measure("crash bt -a -l", chroot, "crash", chroot.CrashArgs(vmlinux, [dump], cmds),
                stdinFile: "/dev/null");
        }
        finally
        {
            Directory.Delete(work, true);
        }

        run.WriteSection(
            $"Input: lab scenario `{lab.Metadata.Name}` ({release}, oops in crashtest, {lab.Metadata.Cpus} CPUs, KASLR on), " +
            $"`{Path.GetFileName(dump)}` ({new FileInfo(dump).Length / 1048576} MiB); `{Path.GetFileName(vmlinux)}` of linux-image-{release}-dbg " +
            $"({new FileInfo(vmlinux).Length / 1048576} MiB, DWARF 5). kdx is NativeAOT; crash 9 runs in the lab's sid chroot; addr2line is the host's binutils.\n\n" +
            Markdown.Table(["command", "wall (median, min-max)", "peak RSS", "peer", "peer wall", "peer RSS", "ratio"],
            [
                ["kdx bt -a -l DUMP --vmlinux V --debug-dir D", kdxBt.WallText, kdxBt.RssText, "crash -s V DUMP: bt -a -l", crash.WallText, crash.RssText, Markdown.Ratio(kdxBt.SpeedupOver(crash))],
                ["kdx sym -l DUMP panic+0x10 --vmlinux V", kdxSym.WallText, kdxSym.RssText, $"addr2line -e V {address}", addr2line.WallText, addr2line.RssText, Markdown.Ratio(kdxSym.SpeedupOver(addr2line))],
            ]) +
            "\nkdx opens the dump (kallsyms, BTF, ORC) and indexes every .debug_line sequence of the vmlinux once per run; " +
            "crash loads the whole DWARF of the vmlinux (symbols, types) before its first command. " +
            "addr2line reads no dump, only the vmlinux.");
    }
}
