// Builds the guest's initramfs: busybox, the lab's /init, kexec and makedumpfile with their
// libraries, kernel modules in dependency order, and the crashtest module. Two cpio archives are
// concatenated: the "capture" one (also the kdump kernel's initrd) and one adding the kernel
// image and that capture archive for the first kernel's kexec -p.
using System.Security.Cryptography;
using System.Text;


namespace Kdx.Lab;

public static class Initramfs
{
    /// <summary>Modules every guest loads: the virtio disk stack, fw_cfg (QEMU's VMCOREINFO) and loop.</summary>
    public static readonly string[] StandardModules = ["virtio_pci", "virtio_blk", "qemu_fw_cfg", "loop"];

    public static readonly string[] HostBinaries = ["/bin/busybox", "/sbin/kexec", "/usr/bin/makedumpfile"];

    public sealed record Plan(
        KernelImage Kernel,
        string CrashTestKo,
        IReadOnlyList<string> StaticTools,
        IReadOnlyList<ExtraModule> ExtraModules,
        string? Script,
        string? CaptureScript,
        IReadOnlyList<ExtraFile> ExtraFiles,
        IReadOnlyList<string> CaptureDevices,
        IReadOnlyList<string> CaptureCommands);

    /// <summary>Writes the first kernel's initrd to <paramref name="output"/>.</summary>
    public static void Build(Plan plan, string workDir, string output)
    {
        var stage = Path.Combine(workDir, "stage");
        Directory.CreateDirectory(stage);
        foreach (var d in new[] { "bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "out", "lab/modules", "etc" })
            Directory.CreateDirectory(Path.Combine(stage, d));
        File.Copy(Path.Combine(LabPaths.GuestDir, "init.sh"), Path.Combine(stage, "init"));
        Chmod(Path.Combine(stage, "init"));
        Sh.Run("mknod", Path.Combine(stage, "dev", "console"), "c", "5", "1");

        foreach (var bin in HostBinaries)
            CopyWithLibraries(bin, stage, Path.Combine("bin", Path.GetFileName(bin)));

        // Modules: standard ones with their dependencies first, then crashtest, then extras.
        var order = new List<(string Name, string File, string Options)>();
        foreach (var m in ModuleClosure(plan.Kernel, StandardModules))
            order.Add((m.Name, m.File, ""));
        order.Add(("crashtest", plan.CrashTestKo, ""));
        foreach (var em in plan.ExtraModules)
            order.Add((Path.GetFileNameWithoutExtension(em.Path), em.Path, em.Options));
        var orderText = new StringBuilder();
        foreach (var (name, file, options) in order)
        {
            CopyModule(file, Path.Combine(stage, "lab", "modules", name + ".ko"));
            orderText.Append(name);
            if (options.Length > 0)
                orderText.Append(' ').Append(options);
            orderText.Append('\n');
        }
        File.WriteAllText(Path.Combine(stage, "lab", "modules.order"), orderText.ToString());
        File.WriteAllText(Path.Combine(stage, "lab", "capture.devs"), string.Join('\n', plan.CaptureDevices) + "\n");
        File.WriteAllText(Path.Combine(stage, "lab", "capture.cmds"), string.Join('\n', plan.CaptureCommands) + "\n");
        foreach (var tool in plan.StaticTools)
        {
            // Built as NAME-HASH; installed as /lab/NAME.
            var target = Path.Combine(stage, "lab", Path.GetFileName(tool)[..Path.GetFileName(tool).LastIndexOf('-')]);
            File.Copy(tool, target);
            Chmod(target);
        }
        if (plan.Script is not null)
            File.Copy(plan.Script, Path.Combine(stage, "lab", "script.sh"));
        foreach (var f in plan.ExtraFiles)
        {
            File.Copy(f.Path, Path.Combine(stage, "lab", f.GuestName));
            Chmod(Path.Combine(stage, "lab", f.GuestName));
        }
        if (plan.CaptureScript is not null)
            File.Copy(plan.CaptureScript, Path.Combine(stage, "lab", "capture-script.sh"));

        var capture = Path.Combine(workDir, "capture.cpio.gz");
        Cpio(stage, capture);

        // Second archive: only what the first kernel needs for kexec -p.
        var extra = Path.Combine(workDir, "stage2");
        Directory.CreateDirectory(Path.Combine(extra, "lab"));
        File.Copy(plan.Kernel.Vmlinuz, Path.Combine(extra, "lab", "vmlinuz"));
        File.Copy(capture, Path.Combine(extra, "lab", "initrd.img"));
        var second = Path.Combine(workDir, "first.cpio.gz");
        Cpio(extra, second);

        using var o = File.Create(output);
        foreach (var part in new[] { capture, second })
        {
            using var i = File.OpenRead(part);
            i.CopyTo(o);
        }
        Directory.Delete(stage, true);
        Directory.Delete(extra, true);
        File.Delete(capture);
        File.Delete(second);
    }

    private static void Cpio(string dir, string output) =>
        Sh.RunIn(dir, "sh", "-c", $"find . -print0 | LC_ALL=C sort -z | cpio --null --reproducible -o -H newc --quiet | gzip -1 -n > '{output}'");

    private static void Chmod(string path) =>
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                   UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

    /// <summary>Copies a host binary and every shared library ldd names, at their own paths.</summary>
    private static void CopyWithLibraries(string binary, string stage, string target)
    {
        if (!File.Exists(binary))
            throw new LabException($"{binary} is missing: run lab/install-deps.sh");
        File.Copy(binary, Path.Combine(stage, target), true);
        Chmod(Path.Combine(stage, target));
        var ldd = Sh.Try("ldd", [binary]);
        if (ldd.ExitCode != 0)
            return; // static binary (busybox)
        foreach (var line in ldd.Stdout.Split('\n'))
        {
            // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var t = line.Trim();
            var arrow = t.IndexOf("=> ", StringComparison.Ordinal);
            var path = arrow >= 0 ? t[(arrow + 3)..] : t;
            var paren = path.IndexOf(" (", StringComparison.Ordinal);
            if (paren >= 0)
                path = path[..paren];
            if (!path.StartsWith('/'))
                continue;
            var dest = Path.Combine(stage, path.TrimStart('/'));
            if (File.Exists(dest))
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(path, dest);
        }
    }

    private static void CopyModule(string source, string dest)
    {
        if (source.EndsWith(".ko", StringComparison.Ordinal))
            File.Copy(source, dest, true);
        else if (source.EndsWith(".ko.xz", StringComparison.Ordinal))
            Sh.Try("xz", ["-dc", source], stdoutFile: dest);
        else if (source.EndsWith(".ko.zst", StringComparison.Ordinal))
            Sh.Try("zstd", ["-dc", source], stdoutFile: dest);
        else
            throw new LabException($"unknown module file type: {source}");
    }

    /// <summary>The named modules and everything they depend on, dependencies first (from modules.dep).</summary>
    public static IReadOnlyList<(string Name, string File)> ModuleClosure(KernelImage kernel, IEnumerable<string> names)
    {
        var deps = new Dictionary<string, (string File, string[] Deps)>();
        foreach (var line in File.ReadLines(Path.Combine(kernel.ModulesDir, "modules.dep")))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
                continue;
            var file = line[..colon];
            var list = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            deps[ModuleName(file)] = (file, list.Select(ModuleName).ToArray());
        }
        // Flavors differ: -cloud builds some drivers in (modules.builtin) and leaves others out.
        var builtinFile = Path.Combine(kernel.ModulesDir, "modules.builtin");
        var builtin = File.Exists(builtinFile) ? File.ReadLines(builtinFile).Select(ModuleName).ToHashSet() : [];
        var result = new List<(string, string)>();
        var seen = new HashSet<string>();
        void Visit(string name)
        {
            if (!seen.Add(name) || builtin.Contains(name))
                return;
            if (!deps.TryGetValue(name, out var d))
                throw new LabException($"module {name} is neither built into {kernel.Release} nor in its modules.dep");
            foreach (var dep in d.Deps)
                Visit(dep);
            result.Add((name, Path.Combine(kernel.ModulesDir, d.File)));
        }
        foreach (var n in names)
            Visit(n);
        return result;
    }

    public static string ModuleName(string path)
    {
        var f = Path.GetFileName(path);
        var ko = f.IndexOf(".ko", StringComparison.Ordinal);
        return (ko >= 0 ? f[..ko] : f).Replace('-', '_');
    }

    /// <summary>SHA-256 over files' contents, for cache keys.</summary>
    public static string HashFiles(IEnumerable<string> files, string extra = "")
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes(extra));
        foreach (var f in files)
        {
            h.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(f)));
            h.AppendData(File.ReadAllBytes(f));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }
}
