// kdx doctor on a real machine: the crash lab boots Debian's kernel under QEMU with a NativeAOT
// kdx in the guest, runs "kdx doctor" there (with and without a loaded crash kernel) and keeps
// its output on the console, which these tests read.
using System.Text.Json;
using System.Text.RegularExpressions;
using Kdx.Lab;
using Kdx.Setup.Tests.Nmi;

namespace Kdx.Setup.Tests.Doctor;

/// <summary>The NativeAOT kdx the lab builds from this checkout (cached by a hash of the sources).</summary>
public sealed class NativeKdx
{
    private readonly Lazy<string> _binary = new(() => KdxBinary.NativeAot(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The published kdx executable (publishing takes minutes on the first call).</summary>
    public string Binary => _binary.Value;
}

[Collection(CrashLab.Collection)]
public sealed class DoctorLabTests(NativeKdx kdx) : IClassFixture<NativeKdx>
{
    private static string ScriptPath =>
        Path.Combine(NmiModuleBuildTests.RepoRoot(), "tests/Kdx.Setup.Tests/Doctor/lab/doctor.sh");

    private sealed record Run(string Text, int TextExitCode, JsonElement Json, int JsonExitCode, string Stderr)
    {
        public string Status(string id) => Check(id).GetProperty("status").GetString()!;

        public JsonElement Check(string id)
        {
            foreach (var c in Json.GetProperty("checks").EnumerateArray())
                if (c.GetProperty("id").GetString() == id)
                    return c;
            throw new Xunit.Sdk.XunitException($"no check {id} in the JSON report");
        }
    }

    private static string Between(string console, string begin, string endPattern, out Match end)
    {
        var start = console.IndexOf(begin + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{begin}' on the console");
        start += begin.Length + 1;
        end = new Regex(endPattern).Match(console, start);
        Assert.True(end.Success, $"no '{endPattern}' on the console");
        return console[start..end.Index];
    }

    private static Run Doctor(LabResult lab)
    {
        var console = File.ReadAllText(lab.ConsoleLog).Replace("\r", "", StringComparison.Ordinal);
        var text = Between(console, "DOCTORTEST text begin", @"DOCTORTEST text end rc=(\d+)\n", out var textEnd);
        var json = Between(console, "DOCTORTEST json begin", @"DOCTORTEST json end rc=(\d+) stderr=\[([^\]]*)\]\n", out var jsonEnd);
        using var doc = JsonDocument.Parse(json);
        return new Run(text, int.Parse(textEnd.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            doc.RootElement.Clone(), int.Parse(jsonEnd.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            jsonEnd.Groups[2].Value.Trim());
    }

    private static void AssertTextAgrees(Run r)
    {
        foreach (var c in r.Json.GetProperty("checks").EnumerateArray())
            Assert.Matches($@"(?m)^  {c.GetProperty("status").GetString()} +{Regex.Escape(c.GetProperty("id").GetString()!)} ", r.Text);
    }

    private LabResult Build(IEnumerable<string> captures, int ramMiB) =>
        LabCatalog.Build(ScenarioOptions.Create("default", "script", captures, ramMiB: ramMiB,
            script: ScriptPath, files: [$"{kdx.Binary}:kdx"]));

    [Fact]
    public void Lab_guest_with_a_loaded_crash_kernel_is_ready()
    {
        // The lab's /init boots with crashkernel=256M and loads the capture kernel with kexec -p.
        var lab = Build(["kdump-mdf:-l,-d,31"], 1024);
        var r = Doctor(lab);

        Assert.Equal(0, r.TextExitCode);
        Assert.Equal(0, r.JsonExitCode);
        Assert.Equal("", r.Stderr);
        Assert.Equal("kdx.doctor/1", r.Json.GetProperty("schema").GetString());
        Assert.Equal("ready", r.Json.GetProperty("status").GetString());
        Assert.Equal(0, r.Json.GetProperty("exitCode").GetInt32());
        Assert.Equal("x86_64", r.Json.GetProperty("arch").GetString());

        // What applies to this guest is ok: the reservation, the loaded kernel, the sysctls and the NMI path.
        foreach (var id in new[]
                 {
                     "kdump.tooling", "crashkernel.cmdline", "crashkernel.reserved", "crashkernel.loaded", "crashkernel.size",
                     "secureboot.kexec", "sysctl.kernel.sysrq", "sysctl.kernel.panic_on_oops", "nmi.panic_path",
                 })
            Assert.True(r.Status(id) == "ok", $"{id}: {r.Check(id)}");
        // No os-release, no kdump tooling config, no dump directory, no nmimgr: nothing to check.
        foreach (var id in new[] { "os.distro", "kdump.config", "target.location", "target.space", "target.dumps", "nmi.nmimgr" })
            Assert.True(r.Status(id) == "skip", $"{id}: {r.Check(id)}");
        foreach (var c in r.Json.GetProperty("checks").EnumerateArray())
            Assert.True(c.GetProperty("status").GetString() is "ok" or "skip", c.ToString());
        Assert.Contains("crashkernel=256M", r.Check("crashkernel.cmdline").GetProperty("message").GetString());

        // The text report says the same, one line per check.
        AssertTextAgrees(r);

        // And the machine really was ready: its panic was captured.
        Assert.Equal("kdump", Assert.Single(lab.Metadata.Captures).Format);
        Assert.Equal("sysrq triggered crash", lab.Metadata.PanicMessage);
    }

    [Fact]
    public void Lab_guest_without_crashkernel_is_not_ready_and_the_fix_names_crashkernel()
    {
        // A QEMU capture: no crashkernel= on the command line, nothing loaded.
        var lab = Build([CaptureSpec.QemuElf], 512);
        var r = Doctor(lab);

        Assert.Equal(2, r.TextExitCode);
        Assert.Equal(2, r.JsonExitCode);
        Assert.Equal("not-ready", r.Json.GetProperty("status").GetString());
        Assert.Equal(2, r.Json.GetProperty("exitCode").GetInt32());

        var cmdline = r.Check("crashkernel.cmdline");
        Assert.Equal("fail", cmdline.GetProperty("status").GetString());
        var fix = cmdline.GetProperty("fix");
        Assert.Equal(JsonValueKind.Object, fix.ValueKind);
        Assert.Contains("crashkernel=", fix.ToString());
        foreach (var id in new[] { "crashkernel.reserved", "crashkernel.loaded", "kdump.tooling" })
            Assert.True(r.Status(id) == "fail", $"{id}: {r.Check(id)}");
        // The sysctls the script set are still fine: only the crash kernel is missing.
        foreach (var id in new[] { "sysctl.kernel.sysrq", "sysctl.kernel.panic_on_oops", "nmi.panic_path", "secureboot.kexec" })
            Assert.True(r.Status(id) == "ok", $"{id}: {r.Check(id)}");
        AssertTextAgrees(r);
        Assert.Matches(@"(?m)^ +fix: .*crashkernel", r.Text);
        Assert.Contains("sysrq triggered crash", lab.Metadata.PanicMessage);
    }
}
