// A NativeAOT kdx published from this checkout's sources, cached by their hash, for everything that
// runs kdx the way an operator would: inside lab guests and capture kernels, and in the benchmarks.
namespace Kdx.Lab;

public static class KdxBinary
{
    /// <summary>The path of a NativeAOT kdx built from the current sources (minutes the first time, then cached).</summary>
    public static string NativeAot(TextWriter? progress = null)
    {
        var root = LabPaths.Repo;
        var sources = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal))
                && !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Append(Path.Combine(root, "Directory.Build.props"))
            .Append(Path.Combine(root, "Directory.Packages.props"))
            .ToList();
        var dir = Path.Combine(LabPaths.Builds, "kdx-aot-" + Initramfs.HashFiles(sources)[..12]);
        var kdx = Path.Combine(dir, "kdx");
        if (File.Exists(kdx))
            return kdx;
        using var _ = FileLock.Acquire("kdx-aot", TimeSpan.FromMinutes(20));
        if (File.Exists(kdx))
            return kdx;
        progress?.WriteLine("publishing a NativeAOT kdx from " + root + "...");
        var tmp = dir + ".tmp";
        if (Directory.Exists(tmp))
            Directory.Delete(tmp, true);
        var r = Sh.Try("dotnet", ["publish", Path.Combine(root, "src/Kdx.Cli"), "-c", "Release", "-p:KdxAot=true", "-o", tmp],
            timeout: TimeSpan.FromMinutes(15));
        if (r.ExitCode != 0 || !File.Exists(Path.Combine(tmp, "kdx")))
            throw new LabException($"NativeAOT publish of kdx failed: {Sh.Tail(r.Stdout + r.Stderr, 20)}");
        if (Directory.Exists(dir))
            Directory.Delete(dir, true);
        Directory.Move(tmp, dir);
        return kdx;
    }
}
