// Debian kernels for the lab: resolves "default" to the current linux-image-amd64, fetches a
// linux-image-* package into the cache (vmlinuz, modules, System.map), installs its headers.
namespace Kdx.Lab;

public sealed record KernelImage(string Release, string PackageVersion, string Root)
{
    public string Vmlinuz => Path.Combine(Root, "boot", $"vmlinuz-{Release}");
    public string SystemMap => Path.Combine(Root, "boot", $"System.map-{Release}");
    public string Config => Path.Combine(Root, "boot", $"config-{Release}");
    public string ModulesDir => Path.Combine(Root, "lib", "modules", Release);
    public string HeadersBuild => $"/lib/modules/{Release}/build";
}

public static class Kernels
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> DefaultByFlavor = new();

    /// <summary>The release the linux-image-amd64 (or -cloud-amd64, -rt-amd64) metapackage points to (asked once per process).</summary>
    public static string ResolveDefault(string flavor = "amd64") => DefaultByFlavor.GetOrAdd(flavor, AskApt);

    private static string AskApt(string flavor)
    {
        var meta = $"linux-image-{flavor}";
        var r = Sh.Try("apt-cache", ["depends", meta]);
        if (r.ExitCode != 0 || !r.Stdout.Contains("Depends:"))
        {
            AptUpdate();
            r = Sh.Try("apt-cache", ["depends", meta]);
        }
        foreach (var line in r.Stdout.Split('\n'))
        {
            var t = line.Trim();
            const string prefix = "Depends: linux-image-";
            if (t.StartsWith(prefix, StringComparison.Ordinal) && t.EndsWith(flavor, StringComparison.Ordinal))
            {
                var release = t[prefix.Length..];
                if (char.IsAsciiDigit(release[0]))
                    return release;
            }
        }
        throw new LabException($"cannot resolve the default kernel from '{meta}': {Sh.Tail(r.Stdout + r.Stderr, 5)}");
    }

    private static int _updated;

    public static void AptUpdate()
    {
        if (Interlocked.Exchange(ref _updated, 1) == 0)
            Sh.Run("apt-get", "update", "-qq");
    }

    /// <summary>Unpacks linux-image-RELEASE into the cache once (no change to the host's /boot).</summary>
    public static KernelImage Image(string release)
    {
        var root = Path.Combine(LabPaths.Kernels, release);
        var stamp = Path.Combine(root, ".complete");
        using var _ = FileLock.Acquire("kernel-" + release, TimeSpan.FromMinutes(20));
        if (!File.Exists(stamp))
        {
            var tmp = root + ".tmp";
            if (Directory.Exists(tmp))
                Directory.Delete(tmp, true);
            Directory.CreateDirectory(tmp);
            var deb = Download($"linux-image-{release}", tmp);
            var extracted = Path.Combine(tmp, "root");
            Sh.Run("dpkg-deb", "-x", deb, extracted);
            var version = Sh.Run("dpkg-deb", "-f", deb, "Version").Trim();
            File.Delete(deb);
            // The package ships no modules.dep (depmod runs at install); make one for dependency order.
            Sh.Run("depmod", "-b", extracted, release);
            File.WriteAllText(Path.Combine(extracted, ".package-version"), version);
            if (Directory.Exists(root))
                Directory.Delete(root, true);
            Directory.Move(extracted, root);
            Directory.Delete(tmp, true);
            File.WriteAllText(stamp, version);
        }
        return new KernelImage(release, File.ReadAllText(stamp).Trim(), root);
    }

    /// <summary>apt-get download into DIR; returns the .deb path.</summary>
    public static string Download(string package, string dir)
    {
        var r = Sh.Try("apt-get", ["download", "-q", package], dir);
        if (r.ExitCode != 0)
        {
            AptUpdate();
            r = Sh.Try("apt-get", ["download", "-q", package], dir);
        }
        if (r.ExitCode != 0)
            throw new LabException($"apt-get download {package} failed: {Sh.Tail(r.Stderr + r.Stdout, 5)}");
        var debs = Directory.GetFiles(dir, package.Replace("+", "%2b") + "_*.deb");
        if (debs.Length == 0)
            debs = Directory.GetFiles(dir, "*.deb");
        return debs.Length == 1 ? debs[0] : throw new LabException($"apt-get download {package}: expected one .deb in {dir}");
    }

    /// <summary>Installs linux-headers-RELEASE (kbuild needs it at its installed path).</summary>
    public static void EnsureHeaders(string release)
    {
        if (Directory.Exists($"/lib/modules/{release}/build/scripts"))
            return;
        using var _ = FileLock.Acquire("apt", TimeSpan.FromMinutes(20));
        if (Directory.Exists($"/lib/modules/{release}/build/scripts"))
            return;
        var args = new List<string> { "install", "-y", "-qq", "--no-install-recommends", $"linux-headers-{release}" };
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var r = Sh.Try("apt-get", args, env: env);
        if (r.ExitCode != 0)
        {
            AptUpdate();
            r = Sh.Try("apt-get", args, env: env);
        }
        if (r.ExitCode != 0)
            throw new LabException($"cannot install linux-headers-{release}: {Sh.Tail(r.Stderr + r.Stdout, 5)}");
    }
}
