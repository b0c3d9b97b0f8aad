// Reference tools' views of a lab dump, stored beside it for tests to compare kdx with:
// crash 9.x with the matching -dbg vmlinux (sys, log, ps, mod, bt, bt -a, kmem -i), drgn's
// stack trace of the crashed thread, and makedumpfile 1.7.8's --dump-dmesg. Debian 12's crash
// 8.0.2 miscounts tasks on current 6.1 kernels, so the tools come from a Debian sid chroot.
namespace Kdx.Lab;

public static class Oracles
{
    public const string Dir = "oracle";

    /// <summary>crash commands and the file each one's output goes to.</summary>
    public static readonly (string Command, string File)[] CrashCommands =
    [
        ("sys", "crash-sys.txt"),
        ("log", "crash-log.txt"),
        ("ps", "crash-ps.txt"),
        ("mod", "crash-mod.txt"),
        ("bt", "crash-bt.txt"),
        ("bt -a", "crash-bt-a.txt"),
        ("kmem -i", "crash-kmem-i.txt"),
    ];

    public static string ChrootDir => Path.Combine(LabPaths.Cache, "oracle-sid");

    /// <summary>Runs every oracle on the scenario's first capture once; returns the oracle folder.</summary>
    public static string Ensure(LabResult lab, TextWriter? progress = null)
    {
        progress ??= TextWriter.Null;
        var outDir = Path.Combine(lab.Directory, Dir);
        if (File.Exists(Path.Combine(outDir, ".complete")))
            return outDir;
        var root = EnsureChroot(progress);
        var vmlinux = EnsureDebugVmlinux(lab.Metadata.Kernel, progress);
        using var _ = FileLock.Acquire("oracle-" + lab.Metadata.Name, TimeSpan.FromMinutes(30));
        if (File.Exists(Path.Combine(outDir, ".complete")))
            return outDir;
        var tmp = outDir + ".tmp";
        if (Directory.Exists(tmp))
            Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);

        var dump = lab.Metadata.Captures[0];
        using (var chroot = OracleChroot.Open(progress))
        {
            var dumpIn = chroot.Inside(Path.Combine(lab.Directory, dump.Files[0]));
            var vmlinuxIn = chroot.Inside(vmlinux);
            var outIn = chroot.Inside(tmp);

            var cmds = Path.Combine(tmp, "crash-commands.txt");
            File.WriteAllLines(cmds, CrashCommands.Select(c => $"{c.Command} > {outIn}/{c.File}").Append("quit"));
            var crashArgs = chroot.CrashArgs(vmlinux, dump.Files.Select(f => Path.Combine(lab.Directory, f)), cmds);
            var r = chroot.Run("crash", crashArgs, TimeSpan.FromMinutes(10));
            File.WriteAllText(Path.Combine(tmp, "crash-session.txt"), r.Stdout + r.Stderr);
            foreach (var (command, file) in CrashCommands)
                if (!File.Exists(Path.Combine(tmp, file)) || new FileInfo(Path.Combine(tmp, file)).Length == 0)
                    throw new LabException($"crash wrote nothing for '{command}' on {dump.Files[0]}: {Sh.Tail(r.Stdout + r.Stderr, 10)}");
            progress.WriteLine($"crash oracle done for {lab.Metadata.Name}");

            var script = Path.Combine(tmp, "drgn-bt.py");
            File.WriteAllText(script,
                "thread = prog.crashed_thread()\n" +
                "print(f'PID: {thread.tid}')\n" +
                "for frame in thread.stack_trace():\n" +
                "    print(frame.name or hex(frame.pc))\n");
            var d = chroot.Run("drgn", ["-q", "-c", dumpIn, "-s", vmlinuxIn, chroot.Inside(script)], TimeSpan.FromMinutes(10));
            File.WriteAllText(Path.Combine(tmp, "drgn-bt.txt"), d.Stdout);
            if (d.ExitCode != 0)
                File.WriteAllText(Path.Combine(tmp, "drgn-error.txt"), d.Stderr);
            var m = chroot.Run("makedumpfile", ["--dump-dmesg", dumpIn, outIn + "/makedumpfile-1.7.8-dmesg.txt"], TimeSpan.FromMinutes(10));
            if (m.ExitCode != 0)
                File.WriteAllText(Path.Combine(tmp, "makedumpfile-1.7.8-error.txt"), m.Stdout + m.Stderr);
        }
        File.WriteAllText(Path.Combine(tmp, "versions.txt"),
            Sh.Try("chroot", [root, "dpkg-query", "-W", "crash", "makedumpfile", "python3-drgn"]).Stdout);
        // Oracles.Crash may have made oracle/ (for oracle/extra/) first: then the files move in, .complete last.
        if (Directory.Exists(outDir))
        {
            foreach (var f in Directory.GetFiles(tmp))
                File.Move(f, Path.Combine(outDir, Path.GetFileName(f)), true);
            File.WriteAllText(Path.Combine(outDir, ".complete"), dump.Id + "\n");
            Directory.Delete(tmp);
        }
        else
        {
            File.WriteAllText(Path.Combine(tmp, ".complete"), dump.Id + "\n");
            Directory.Move(tmp, outDir);
        }
        return outDir;
    }

    /// <summary>
    /// crash's output for any command lines (one per line, or separated by ';') on the scenario's
    /// capture <paramref name="capture"/>, with the -dbg vmlinux; run once and cached under oracle/extra/.
    /// </summary>
    public static string Crash(LabResult lab, string commands, int capture = 0, TextWriter? progress = null)
    {
        progress ??= TextWriter.Null;
        var lines = commands.Split([';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0)
            throw new ArgumentException("no crash command given", nameof(commands));
        var dump = lab.Metadata.Captures[capture];
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(dump.Id + "\n" + string.Join("\n", lines))))[..16];
        var dir = Path.Combine(lab.Directory, Dir, "extra");
        var output = Path.Combine(dir, $"crash-{key}.txt");
        if (File.Exists(output))
            return File.ReadAllText(output);
        var vmlinux = EnsureDebugVmlinux(lab.Metadata.Kernel, progress);
        using var _ = FileLock.Acquire("oracle-" + lab.Metadata.Name + "-extra", TimeSpan.FromMinutes(30));
        if (File.Exists(output))
            return File.ReadAllText(output);
        Directory.CreateDirectory(dir);
        var tmp = output + ".tmp";
        File.WriteAllText(tmp, "");
        using (var chroot = OracleChroot.Open(progress))
        {
            var cmds = Path.Combine(dir, $"crash-{key}.commands");
            File.WriteAllLines(cmds, lines.Select(c => $"{c} >> {chroot.Inside(tmp)}").Append("quit"));
            var args = chroot.CrashArgs(vmlinux, dump.Files.Select(f => Path.Combine(lab.Directory, f)), cmds);
            var r = chroot.Run("crash", args, TimeSpan.FromMinutes(20));
            if (r.ExitCode != 0 || new FileInfo(tmp).Length == 0)
                throw new LabException($"crash '{string.Join("; ", lines)}' on {dump.Files[0]} failed (exit {r.ExitCode}): {Sh.Tail(r.Stdout + r.Stderr, 10)}");
        }
        File.Move(tmp, output);
        return File.ReadAllText(output);
    }

    /// <summary>A Debian sid minbase chroot with crash 9, makedumpfile 1.7.8 and drgn.</summary>
    public static string EnsureChroot(TextWriter progress)
    {
        var root = ChrootDir;
        var stamp = Path.Combine(root, ".kdx-complete");
        if (File.Exists(stamp))
            return root;
        using var _ = FileLock.Acquire("oracle-chroot", TimeSpan.FromMinutes(30));
        if (File.Exists(stamp))
            return root;
        progress.WriteLine("building the oracle chroot (Debian sid: crash, makedumpfile, drgn)...");
        var tmp = root + ".tmp";
        if (Directory.Exists(tmp))
            Sh.Run("rm", "-rf", tmp);
        var r = Sh.Try("debootstrap", ["--variant=minbase", "--include=crash,makedumpfile,python3-drgn,binutils", "sid", tmp, Mirror()],
            timeout: TimeSpan.FromMinutes(30));
        if (r.ExitCode != 0)
            throw new LabException($"debootstrap sid failed: {Sh.Tail(r.Stdout + r.Stderr, 15)}");
        if (Directory.Exists(root))
            Sh.Run("rm", "-rf", root);
        Directory.Move(tmp, root);
        File.WriteAllText(stamp, Sh.Try("chroot", [root, "dpkg-query", "-W", "crash", "makedumpfile", "python3-drgn"]).Stdout);
        return root;
    }

    /// <summary>The Debian mirror this machine's apt uses (first URIs: line).</summary>
    public static string Mirror()
    {
        const string sources = "/etc/apt/sources.list.d/debian.sources";
        if (File.Exists(sources))
            foreach (var line in File.ReadLines(sources))
                if (line.StartsWith("URIs:", StringComparison.Ordinal))
                    return line[5..].Trim().Split(' ')[0];
        if (File.Exists("/etc/apt/sources.list"))
            foreach (var line in File.ReadLines("/etc/apt/sources.list"))
                if (line.StartsWith("deb ", StringComparison.Ordinal))
                    return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        throw new LabException("cannot find a Debian mirror in /etc/apt/sources.list(.d)");
    }

    /// <summary>The DWARF vmlinux of linux-image-RELEASE-dbg, extracted once (only the vmlinux is kept).</summary>
    public static string EnsureDebugVmlinux(string release, TextWriter? progress = null) =>
        EnsureDebugFiles(release, progress).Vmlinux;

    /// <summary>
    /// The -dbg package's vmlinux (DWARF) and its real System.map (Debian's /boot one is a
    /// placeholder), extracted together once into the kernel's cache folder.
    /// </summary>
    public static (string Vmlinux, string SystemMap) EnsureDebugFiles(string release, TextWriter? progress = null)
    {
        var dir = Path.Combine(LabPaths.Kernels, release);
        var vmlinux = Path.Combine(dir, "vmlinux-dbg");
        var map = Path.Combine(dir, "System.map-dbg");
        if (File.Exists(vmlinux) && File.Exists(map))
            return (vmlinux, map);
        using var _ = FileLock.Acquire("dbg-" + release, TimeSpan.FromMinutes(30));
        if (File.Exists(vmlinux) && File.Exists(map))
            return (vmlinux, map);
        progress?.WriteLine($"fetching linux-image-{release}-dbg (large)...");
        var tmp = Path.Combine(LabPaths.Cache, "tmp-dbg-" + release);
        if (Directory.Exists(tmp))
            Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        var deb = Kernels.Download($"linux-image-{release}-dbg", tmp);
        var members = new[] { $"./usr/lib/debug/boot/vmlinux-{release}", $"./usr/lib/debug/boot/System.map-{release}" };
        Sh.RunIn(tmp, "sh", "-c", $"dpkg-deb --fsys-tarfile '{deb}' | tar -x '{members[0]}' '{members[1]}'");
        Directory.CreateDirectory(dir);
        foreach (var (member, target) in new[] { (members[0], vmlinux), (members[1], map) })
        {
            File.Move(Path.Combine(tmp, member), target + ".tmp", true);
            File.Move(target + ".tmp", target, true);
        }
        Directory.Delete(tmp, true);
        return (vmlinux, map);
    }
}

/// <summary>
/// The oracle chroot, mounted for one user at a time (its mounts are shared by every process on the
/// machine): the lab cache is bind-mounted at /lab and proc at /proc for the session's lifetime.
/// </summary>
public sealed class OracleChroot : IDisposable
{
    private readonly FileLock _lock;
    private readonly List<string> _mounted = [];

    private OracleChroot(string root, FileLock held)
    {
        Root = root;
        _lock = held;
        try
        {
            Mount(["--bind", LabPaths.Cache], Path.Combine(root, "lab"));
            Mount(["-t", "proc", "proc"], Path.Combine(root, "proc"));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Root { get; }

    /// <summary>Builds the chroot if needed, waits for other users, and mounts it.</summary>
    public static OracleChroot Open(TextWriter? progress = null)
    {
        var root = Oracles.EnsureChroot(progress ?? TextWriter.Null);
        return new OracleChroot(root, FileLock.Acquire("oracle-chroot-mounts", TimeSpan.FromMinutes(60)));
    }

    /// <summary>The path inside the chroot of a file under the lab cache.</summary>
    public string Inside(string hostPath)
    {
        var rel = Path.GetRelativePath(LabPaths.Cache, Path.GetFullPath(hostPath));
        if (rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel))
            throw new LabException($"{hostPath} is not under the lab cache {LabPaths.Cache}, so the oracle chroot cannot see it");
        return "/lab/" + rel;
    }

    /// <summary>
    /// crash's arguments for a dump (every file of a split set, together) and its -dbg vmlinux,
    /// quiet, reading its commands from <paramref name="commandsFile"/> when given (else stdin).
    /// </summary>
    public IReadOnlyList<string> CrashArgs(string vmlinux, IEnumerable<string> dumpFiles, string? commandsFile = null)
    {
        var args = new List<string> { "-s", Inside(vmlinux) };
        args.AddRange(dumpFiles.Select(Inside));
        if (commandsFile is not null)
            args.AddRange(["-i", Inside(commandsFile)]);
        return args;
    }

    /// <summary>The host command line that runs <paramref name="file"/> inside the chroot.</summary>
    public (string File, IReadOnlyList<string> Args) Command(string file, IEnumerable<string> args) =>
        ("chroot", [Root, file, .. args]);

    public Sh.Result Run(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var (f, a) = Command(file, args);
        return Sh.Try(f, a, timeout: timeout);
    }

    private void Mount(string[] how, string target)
    {
        Directory.CreateDirectory(target);
        Unmount(target);
        Sh.Run("mount", [.. how, target]);
        _mounted.Add(target);
    }

    private static void Unmount(string path) => Sh.Try("umount", ["-l", path]);

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(_mounted))
            Unmount(m);
        _mounted.Clear();
        _lock.Dispose();
    }
}
