// Where the real-data oracles live on a test machine, and how to get them: the host's own BTF,
// bpftool, and a Debian 6.1 kernel image with its real System.map (see fetch-oracles.sh).
using System.Diagnostics;

namespace Kdx.Kernel.Tests.Support;

public static class Oracles
{
    public const string HostBtf = "/sys/kernel/btf/vmlinux";
    public const string Release = "6.1.0-56-amd64";

    /// <summary>Cache filled by tests/Kdx.Kernel.Tests/fetch-oracles.sh (vmlinux from /boot, System.map from the -dbg package).</summary>
    public static string CacheDir =>
        Environment.GetEnvironmentVariable("KDX_KERNEL_ORACLES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kdx-kernel");

    public static string Vmlinux => Path.Combine(CacheDir, $"vmlinux-{Release}");
    public static string SystemMap => Path.Combine(CacheDir, $"System.map-{Release}");
    public static string ModulesDir => $"/lib/modules/{Release}/kernel";

    public static bool HasBpftool => Which("bpftool") is not null;

    /// <summary>Real-data tests run when their inputs exist; on a machine without them they have nothing to compare and say so.</summary>
    public static bool Available(params string[] paths) => paths.All(p => File.Exists(p) || Directory.Exists(p));

    public static string? Which(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin"))
        {
            var p = Path.Combine(dir, tool);
            if (File.Exists(p))
                return p;
        }
        return null;
    }

    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(Which(tool) ?? tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return output;
    }
}
