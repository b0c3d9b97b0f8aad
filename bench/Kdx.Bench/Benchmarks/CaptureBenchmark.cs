// capture: kdx capture against makedumpfile 1.7.8 (oracle chroot) and Debian 12's 1.7.2 (host),
// on the same /proc/vmcore-like ELF of a 1 GiB and a 4 GiB lab guest, at the same dump level and
// compression, threads = cores. Reports wall time, throughput (input size / wall), the ratio of
// each makedumpfile's time to kdx's, output sizes and peak RSS.
//
// Input: QEMU's dump-guest-memory ELF puts its program headers after two section headers, and
// makedumpfile reads program headers only right after the ELF header (where /proc/vmcore has
// them): it stops with "Can't get the number of PT_LOAD". So each QEMU ELF is first rewritten in
// /proc/vmcore's layout by `kdx capture -E -d 0` (every RAM page, byte for byte, one PT_LOAD per
// RAM range), once, under the lab cache where the chroot sees it.
using System.Globalization;
using Kdx.Lab;

namespace Kdx.Bench;

public sealed class CaptureBenchmark : IBenchmark
{
    private const string HostMakedumpfile = "/usr/bin/makedumpfile";
    private static readonly string[][] Settings = [["-l", "-d", "31"], ["-c", "-d", "31"], ["-c", "-d", "1"]];

    public string Name => "capture";
    public string Title => "kdx capture vs makedumpfile (/proc/vmcore-like ELF to kdump-compressed)";

    public void Run(BenchRun run)
    {
        var dir = Path.Combine(LabPaths.Cache, "bench-capture");
        Directory.CreateDirectory(dir);
        var inputs = new (string Name, LabResult Lab)[]
        {
            ("1 GiB guest, idle (LabCatalog.SysrqQemu)", LabCatalog.Build(LabCatalog.SysrqQemu())),
            ("4 GiB guest, 840 MiB of file data in tmpfs (LabCatalog.SysrqQemuLarge)", LabCatalog.Build(LabCatalog.SysrqQemuLarge())),
        };
        var threads = run.Cores.ToString(CultureInfo.InvariantCulture);
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        using var chroot = run.OracleChroot();
        var version178 = Sh.Try("chroot", [chroot.Root, "makedumpfile", "-v"]).Stdout.Split('\n')[0];
        var version172 = Sh.Try(HostMakedumpfile, ["-v"]).Stdout.Split('\n')[0];
        var rows = new List<IReadOnlyList<string>>();
        double worstRss = 0;
        var single = new List<string>();
        foreach (var (name, lab) in inputs)
        {
            var vmcore = VmcoreLike(run, lab, dir);
            var mib = new FileInfo(vmcore).Length / 1048576.0;
            run.Log.WriteLine($"input {vmcore} ({mib:0} MiB)");
            foreach (var setting in Settings)
            {
                var opts = string.Join(' ', setting);
                var kdxOut = Path.Combine(dir, "kdx.out");
                var m178Out = Path.Combine(dir, "mdf178.out");
                var m172Out = Path.Combine(dir, "mdf172.out");
                var m178OneOut = Path.Combine(dir, "mdf178-1.out");
                var kdx = run.Measure($"kdx {opts}", run.Kdx,
                    ["capture", .. setting, "--num-threads", threads, "--message-level", "0", vmcore, kdxOut],
                    beforeEach: () => File.Delete(kdxOut));
                var (fm178, am178) = chroot.Command("makedumpfile",
                    [.. setting, "--num-threads", threads, "--message-level", "0", chroot.Inside(vmcore), chroot.Inside(m178Out)]);
                var (fm178One, am178One) = chroot.Command("makedumpfile",
                    [.. setting, "--message-level", "0", chroot.Inside(vmcore), chroot.Inside(m178OneOut)]);
                var kdxSize = new FileInfo(kdxOut).Length;
                var kdxOne = run.Measure($"kdx {opts} --num-threads 1", run.Kdx,
                    ["capture", .. setting, "--num-threads", "1", "--message-level", "0", vmcore, kdxOut],
                    beforeEach: () => File.Delete(kdxOut));
                worstRss = Math.Max(worstRss, Math.Max(kdx.PeakRssMiB, kdxOne.PeakRssMiB));
                rows.Add(Line(name, opts, "kdx", kdx, kdx, mib, kdxOut, kdxSize));
                rows.Add(Line(name, opts, "kdx --num-threads 1", kdxOne, kdx, mib, kdxOut, kdxSize));
                var one = Peer(run, name, opts, "makedumpfile 1.7.8 (default: 1 thread)", fm178One, am178One, m178OneOut, kdx, mib, kdxSize, 3, out var mdfOne);
                rows.Add(one);
                if (mdfOne is not null)
                    single.Add($"{Short(name)} `{opts}` {Markdown.Ratio(mdfOne.Median / kdxOne.Median)}");
                // makedumpfile's threads are many times slower here: one timed run each says enough.
                rows.Add(Peer(run, name, opts, $"makedumpfile 1.7.8 --num-threads {threads}", fm178, am178, m178Out, kdx, mib, kdxSize, 1));
                rows.Add(Peer(run, name, opts, $"makedumpfile 1.7.2 --num-threads {threads}", HostMakedumpfile,
                    [.. setting, "--num-threads", threads, "--message-level", "0", vmcore, m172Out], m172Out, kdx, mib, kdxSize, 1));
            }
            foreach (var f in Directory.GetFiles(dir, "*.out"))
                File.Delete(f);
        }
        run.WriteSection(
            $"Peers: {version178} (Debian sid chroot), {version172} (Debian 12 host). All three with `--num-threads {threads}`\n" +
            "(threads = cores), and makedumpfile 1.7.8 once more without it (its default, one thread, what kdump runs unless told);\n" +
            "all with `--message-level 0`. kdx and single-threaded makedumpfile: 1 untimed + 3 timed runs; threaded makedumpfile: 1 + 1.\n" +
            "Input: QEMU's ELF dump of the guest, rewritten once in /proc/vmcore's layout by `kdx capture -E -d 0`: program headers\n" +
            "right after the ELF header (where makedumpfile looks for them), page-aligned segments of RAM only (makedumpfile maps\n" +
            "such a file, as it maps /proc/vmcore; on QEMU's unaligned layout it falls back to read(), 10-15% slower). The rewritten\n" +
            "file is what all of them read, from the page cache (one untimed run first). Output to the same disk, not fsync'ed (none of them do).\n" +
            "The 4 GiB guest ran lab/guest/fill-memory.sh before its sysrq crash: 80 copies of the compressed kernel\n" +
            "(incompressible) and 40 of the initramfs programs and libraries in a tmpfs, so -d 1 has real data to compress.\n\n" +
            Markdown.Table(
                ["input", "options", "tool", "wall (median, min-max)", "MiB/s of input", "time / kdx's time", "output", "size / kdx size", "peak RSS"],
                rows) +
            $"\nThe machine is shared (other engineers' builds and QEMU guests): /proc/loadavg was `{loadBefore}` at the start and " +
            $"`{File.ReadAllText("/proc/loadavg").Trim()}` at the end, so single runs vary by 2-4x; a program with threads suffers more from it than a single-threaded one.\n" +
            $"\nLargest kdx peak RSS over all runs: {worstRss:0.0} MiB (bound: under 64 MiB whatever the RAM size, see docs/capture.md).\n" +
            "Output sizes: with the system's libz and liblzo2 (which kdx loads, as makedumpfile links them) the files are makedumpfile's\n" +
            "byte for byte but for the header's timestamp.\n" +
            "`kdx --num-threads 1` is what a capture kernel with one CPU (the usual nr_cpus=1) runs; against makedumpfile 1.7.8's\n" +
            "default single thread: " + string.Join("; ", single) + ".\n");
    }

    // A peer's row; a peer that fails (makedumpfile 1.7.2's threads abort now and then) gets a row saying how.
    private static IReadOnlyList<string> Peer(BenchRun run, string input, string opts, string tool, string file, IReadOnlyList<string> args,
        string output, Sample kdx, double mib, long kdxSize, int repeat) =>
        Peer(run, input, opts, tool, file, args, output, kdx, mib, kdxSize, repeat, out _);

    private static IReadOnlyList<string> Peer(BenchRun run, string input, string opts, string tool, string file, IReadOnlyList<string> args,
        string output, Sample kdx, double mib, long kdxSize, int repeat, out Sample? sample)
    {
        sample = null;
        try
        {
            var s = run.Measure($"{tool} {opts}", file, args, repeat, beforeEach: () => File.Delete(output));
            sample = s;
            return Line(input, opts, tool, s, kdx, mib, output, kdxSize);
        }
        catch (InvalidOperationException e)
        {
            run.Log.WriteLine($"  {tool} {opts}: {e.Message}");
            var why = e.Message[(e.Message.LastIndexOf(" exited ", StringComparison.Ordinal) + 1)..].ReplaceLineEndings(" ");
            return [input, opts, tool, "failed: " + (why.Length > 120 ? why[..120] : why), "-", "-", "-", "-", "-"];
        }
    }

    private static string Short(string input) => input[..input.IndexOf(',', StringComparison.Ordinal)];

    private static IReadOnlyList<string> Line(string input, string opts, string tool, Sample s, Sample kdx, double mib, string output, long kdxSize)
    {
        var size = new FileInfo(output).Length;
        return
        [
            input, opts, tool, s.WallText, (mib / s.Median).ToString("0", CultureInfo.InvariantCulture),
            ReferenceEquals(s, kdx) ? "1.00x" : Markdown.Ratio(s.Median / kdx.Median),
            $"{size / 1048576.0:0.00} MiB",
            $"{(double)size / kdxSize:0.000}",
            s.RssText,
        ];
    }

    // The QEMU ELF rewritten in /proc/vmcore's layout, made once per scenario: program headers after
    // the ELF header, page-aligned segments holding RAM only. makedumpfile maps such a file as it maps
    // /proc/vmcore; QEMU's own layout (segments at unaligned offsets) sends it to read(), 10-15% slower.
    private static string VmcoreLike(BenchRun run, LabResult lab, string dir)
    {
        var qemu = lab.Dump(CaptureSpec.QemuElf);
        var path = Path.Combine(dir, Path.GetFileName(lab.Directory) + ".proc-vmcore-like");
        if (File.Exists(path) && File.GetLastWriteTimeUtc(path) > File.GetLastWriteTimeUtc(qemu))
            return path;
        run.Log.WriteLine($"rewriting {qemu} in /proc/vmcore's layout");
        var r = Sh.Try(run.Kdx, ["capture", "-E", "-d", "0", "--message-level", "0", qemu, path], timeout: TimeSpan.FromMinutes(30));
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"kdx capture -E -d 0 {qemu}: {Sh.Tail(r.Stdout + r.Stderr, 10)}");
        return path;
    }
}
