// Builds kernel/nmimgr against Debian 12's installed 6.1 headers with make and checks the module and its parameters (modinfo).

namespace Kdx.Setup.Tests.Nmi;

public class NmiModuleBuildTests
{
    // Debian 12's kernel; a later 6.1 ABI from linux-headers-amd64 stands in if this one is gone.
    private static readonly string KernelVersion =
        Directory.Exists("/lib/modules/6.1.0-56-amd64/build") ? "6.1.0-56-amd64" :
        Directory.GetDirectories("/lib/modules", "6.1.*-amd64").Select(Path.GetFileName).Where(v => Directory.Exists($"/lib/modules/{v}/build")).Order().LastOrDefault()
        ?? "6.1.0-56-amd64";

    internal static string RepoRoot() => Kdx.Lab.LabPaths.Repo;

    private static (int Code, string Output) Run(string file, string[] args, string? cwd = null)
    {
        var r = Kdx.Lab.Sh.Try(file, args, workDir: cwd);
        return (r.ExitCode, r.Stdout + r.Stderr);
    }

    [Fact]
    public void Module_builds_against_the_6_1_headers_with_the_expected_parameters()
    {
        Assert.True(Directory.Exists($"/lib/modules/{KernelVersion}/build"), $"linux-headers-{KernelVersion} must be installed (lab/install-deps.sh)");
        using var work = new TempRoot();
        // Build from a copy: parallel test runs and the developer's own build/ stay apart.
        var src = Path.Combine(RepoRoot(), "kernel/nmimgr");
        foreach (var f in new[] { "nmimgr.c", "Kbuild", "Makefile", "dkms.conf" })
            File.Copy(Path.Combine(src, f), Path.Combine(work.Path, f));

        var (code, output) = Run("make", [$"KVERS={KernelVersion}"], work.Path);
        Assert.True(code == 0, output);
        // No compiler diagnostics for the module's own source (kbuild's own notes may vary by host).
        Assert.DoesNotMatch(@"nmimgr\.c:\d+:\d+: (warning|error)", output);

        var ko = Path.Combine(work.Path, "build", KernelVersion, "nmimgr.ko");
        Assert.True(File.Exists(ko), output);

        var (mcode, parm) = Run("/sbin/modinfo", ["-F", "parm", ko]);
        Assert.True(mcode == 0, parm);
        var names = parm.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..l.IndexOf(':')]).Order().ToArray();
        Assert.Equal(["counters", "dump_claims", "events_drop", "events_ignore", "events_panic", "protect_dump", "ratelimit_ms"], names);
        Assert.Contains("events_panic:", parm);
        Assert.Contains("(list)", parm);

        var (_, vermagic) = Run("/sbin/modinfo", ["-F", "vermagic", ko]);
        Assert.StartsWith(KernelVersion + " ", vermagic);
        var (_, license) = Run("/sbin/modinfo", ["-F", "license", ko]);
        Assert.Equal("GPL", license.Trim());
    }

    [Fact]
    public void Module_source_uses_no_kallsyms_lookup()
    {
        var c = File.ReadAllText(Path.Combine(RepoRoot(), "kernel/nmimgr/nmimgr.c"));
        Assert.DoesNotContain("kallsyms_lookup_name", c);
        Assert.Contains("NMI_FLAG_FIRST", c);
    }
}
