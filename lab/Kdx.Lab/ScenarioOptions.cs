// Turns command-line words (or a test's arguments) into a validated Scenario.
namespace Kdx.Lab;

public static class ScenarioOptions
{
    public static Scenario Create(string kernel, string crash, IEnumerable<string> captures, int ramMiB = 1024,
        int cpus = 2, bool kaslr = true, bool la57 = false, int crashKernelMiB = 256,
        IEnumerable<string>? modules = null, string? script = null, string cmdline = "", string? captureScript = null,
        IEnumerable<string>? files = null, int boot = 0)
    {
        if (!Enum.TryParse<CrashKind>(crash, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || crash.All(char.IsAsciiDigit))
            throw new LabException($"unknown crash kind '{crash}' (sysrq, nmi, oops, bug, warn, softlockup, hung, oom, script)");
        var caps = captures.Select(CaptureSpec.Parse).ToList();
        if (caps.Count == 0)
            caps.Add(CaptureSpec.Parse(CaptureSpec.QemuElf));
        var extra = (modules ?? []).Select(m =>
        {
            var colon = m.IndexOf(':');
            var path = Path.GetFullPath(colon < 0 ? m : m[..colon]);
            if (!File.Exists(path))
                throw new LabException($"module {path} does not exist");
            return new ExtraModule(path, colon < 0 ? "" : m[(colon + 1)..]);
        }).ToList();
        var extraFiles = (files ?? []).Select(f =>
        {
            var colon = f.IndexOf(':');
            var path = Path.GetFullPath(colon < 0 ? f : f[..colon]);
            if (!File.Exists(path))
                throw new LabException($"file {path} does not exist");
            return new ExtraFile(path, colon < 0 ? Path.GetFileName(path) : f[(colon + 1)..]);
        }).ToList();
        var s = new Scenario
        {
            Kernel = ResolveKernel(kernel),
            Crash = kind,
            Captures = caps,
            RamMiB = ramMiB,
            Cpus = cpus,
            Kaslr = kaslr,
            La57 = la57,
            CrashKernelMiB = crashKernelMiB,
            ExtraModules = extra,
            ExtraFiles = extraFiles,
            ScriptPath = script is null ? null : Path.GetFullPath(script),
            CaptureScriptPath = captureScript is null ? null : Path.GetFullPath(captureScript),
            ExtraCmdline = cmdline.Trim(),
            Boot = boot,
        };
        s.Validate();
        return s;
    }

    /// <summary>"default" is linux-image-amd64's kernel; "default-cloud" and "default-rt" the other flavors'.</summary>
    public static string ResolveKernel(string kernel) => kernel switch
    {
        "default" => Kernels.ResolveDefault("amd64"),
        "default-cloud" => Kernels.ResolveDefault("cloud-amd64"),
        "default-rt" => Kernels.ResolveDefault("rt-amd64"),
        _ => kernel,
    };
}
