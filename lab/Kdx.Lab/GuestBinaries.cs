// Things the lab compiles for the guest, cached by their source: the crashtest kernel module
// (per kernel release, against its Debian headers) and small static tools (memhog, vmcopy).
namespace Kdx.Lab;

public static class GuestBinaries
{
    public static string CrashTestModule(string release) => KernelModule(LabPaths.CrashTestSource, "crashtest", release);

    /// <summary>
    /// Builds NAME.ko from SOURCEDIR (NAME.c + Kbuild) against RELEASE's Debian headers, once per
    /// source version, into the lab's build cache.
    /// </summary>
    public static string KernelModule(string sourceDir, string name, string release)
    {
        var sources = new[] { name + ".c", "Kbuild" }.Select(f => Path.Combine(sourceDir, f)).ToArray();
        var hash = Initramfs.HashFiles(sources, release)[..12];
        var dir = Path.Combine(LabPaths.Builds, $"{name}-{release}-{hash}");
        var ko = Path.Combine(dir, name + ".ko");
        using var _ = FileLock.Acquire($"{name}-{release}", TimeSpan.FromMinutes(10));
        if (File.Exists(ko))
            return ko;
        Kernels.EnsureHeaders(release);
        var tmp = dir + ".tmp";
        if (Directory.Exists(tmp))
            Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        foreach (var s in sources)
            File.Copy(s, Path.Combine(tmp, Path.GetFileName(s)));
        var r = Sh.Try("make", ["-C", $"/lib/modules/{release}/build", $"M={tmp}", "modules"]);
        if (r.ExitCode != 0 || !File.Exists(Path.Combine(tmp, name + ".ko")))
            throw new LabException($"building {name} for {release} failed: {Sh.Tail(r.Stdout + r.Stderr, 15)}");
        if (Directory.Exists(dir))
            Directory.Delete(dir, true);
        Directory.Move(tmp, dir);
        return ko;
    }

    /// <summary>The static guest tools, by name: lab/guest/NAME.c built with gcc -static.</summary>
    public static readonly string[] StaticTools = ["memhog", "vmcopy"];

    public static string StaticTool(string name)
    {
        var source = Path.Combine(LabPaths.GuestDir, name + ".c");
        var hash = Initramfs.HashFiles([source])[..12];
        Directory.CreateDirectory(LabPaths.Builds);
        var output = Path.Combine(LabPaths.Builds, $"{name}-{hash}");
        using var _ = FileLock.Acquire(name, TimeSpan.FromMinutes(5));
        if (File.Exists(output))
            return output;
        var tmp = output + ".tmp";
        Sh.Run("gcc", "-static", "-O2", "-Wall", "-o", tmp, source);
        File.Move(tmp, output, true);
        return output;
    }
}
