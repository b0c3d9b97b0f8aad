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
        using (var mounts = new ChrootMounts(root))
        {
            // Inside the chroot the lab cache is /lab.
            string Inside(string hostPath) => "/lab/" + Path.GetRelativePath(LabPaths.Cache, hostPath);
            var dumpIn = Inside(Path.Combine(lab.Directory, dump.Files[0]));
            var vmlinuxIn = Inside(vmlinux);
            var outIn = Inside(tmp);

            var cmds = Path.Combine(tmp, "crash-commands.txt");
            File.WriteAllLines(cmds, CrashCommands.Select(c => $"{c.Command} > {outIn}/{c.File}").Append("quit"));
            var crashArgs = new List<string> { root, "crash", "-s", vmlinuxIn };
            crashArgs.AddRange(dump.Files.Select(f => Inside(Path.Combine(lab.Directory, f)))); // split parts together
            crashArgs.AddRange(["-i", Inside(cmds)]);
            var r = Sh.Try("chroot", crashArgs, timeout: TimeSpan.FromMinutes(10));
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
            var d = Sh.Try("chroot", [root, "drgn", "-q", "-c", dumpIn, "-s", vmlinuxIn, Inside(script)], timeout: TimeSpan.FromMinutes(10));
            File.WriteAllText(Path.Combine(tmp, "drgn-bt.txt"), d.Stdout);
            if (d.ExitCode != 0)
                File.WriteAllText(Path.Combine(tmp, "drgn-error.txt"), d.Stderr);
            var m = Sh.Try("chroot", [root, "makedumpfile", "--dump-dmesg", dumpIn, outIn + "/makedumpfile-1.7.8-dmesg.txt"], timeout: TimeSpan.FromMinutes(10));
            if (m.ExitCode != 0)
                File.WriteAllText(Path.Combine(tmp, "makedumpfile-1.7.8-error.txt"), m.Stdout + m.Stderr);
        }
        File.WriteAllText(Path.Combine(tmp, "versions.txt"),
            Sh.Try("chroot", [root, "dpkg-query", "-W", "crash", "makedumpfile", "python3-drgn"]).Stdout);
        File.WriteAllText(Path.Combine(tmp, ".complete"), dump.Id + "\n");
        Directory.Move(tmp, outDir);
        return outDir;
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

    /// <summary>Bind-mounts the lab cache at /lab and proc at /proc inside the chroot for its lifetime.</summary>
    private sealed class ChrootMounts : IDisposable
    {
        private readonly List<string> _mounted = [];

        public ChrootMounts(string root)
        {
            var lab = Path.Combine(root, "lab");
            var proc = Path.Combine(root, "proc");
            Directory.CreateDirectory(lab);
            Directory.CreateDirectory(proc);
            Unmount(lab);
            Unmount(proc);
            Sh.Run("mount", "--bind", LabPaths.Cache, lab);
            _mounted.Add(lab);
            Sh.Run("mount", "-t", "proc", "proc", proc);
            _mounted.Add(proc);
        }

        private static void Unmount(string path) => Sh.Try("umount", ["-l", path]);

        public void Dispose()
        {
            foreach (var m in Enumerable.Reverse(_mounted))
                Unmount(m);
        }
    }
}
