// The doctor's outputs and fixes: JSON shape and ids as documented in docs/doctor.md, the text
// report, --fix contents, and --apply's writes (atomic, under the root, merged drop-in).
using System.Text.Json;
using Kdx.Setup.Doctor;

namespace Kdx.Setup.Tests.Doctor;

public sealed class OutputTests
{
    /// <summary>The ids monitoring depends on; changing one is a breaking change of schema kdx.doctor/1.</summary>
    private static readonly string[] StableIds =
    [
        "os.distro", "kdump.tooling", "kdump.config", "crashkernel.cmdline", "crashkernel.reserved", "crashkernel.loaded",
        "crashkernel.size", "target.location", "target.space", "target.dumps", "secureboot.kexec", "sysctl.kernel.sysrq",
        "sysctl.kernel.panic", "sysctl.kernel.panic_on_oops", "sysctl.kernel.panic_on_warn", "sysctl.kernel.softlockup_panic", "sysctl.kernel.hardlockup_panic",
        "sysctl.kernel.hung_task_panic", "sysctl.vm.panic_on_oom", "sysctl.kernel.unknown_nmi_panic",
        "sysctl.kernel.panic_on_unrecovered_nmi", "sysctl.kernel.panic_on_io_nmi", "sysctl.kernel.nmi_watchdog",
        "nmi.panic_path", "nmi.nmimgr",
    ];

    private static JsonDocument Json(DoctorReport report)
    {
        using var s = new MemoryStream();
        DoctorOutput.WriteJson(report, s);
        return JsonDocument.Parse(s.ToArray());
    }

    [Fact]
    public void Ids_are_stable_and_documented()
    {
        Assert.Equal(StableIds, Kdx.Setup.Doctor.Doctor.AllChecks().Select(c => c.Id));
        var doc = File.ReadAllText(Path.Combine(Kdx.Lab.LabPaths.Repo, "docs", "doctor.md"));
        Assert.All(StableIds, id => Assert.Contains($"`{id}`", doc));
        Assert.Contains(DoctorOutput.Schema, doc);
    }

    [Fact]
    public void Json_shape()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Sysctl("kernel.sysrq", 0).Cmdline("ro quiet");
        var report = f.Run();
        using var doc = Json(report);
        var root = doc.RootElement;
        Assert.Equal("kdx.doctor/1", root.GetProperty("schema").GetString());
        Assert.Equal("rhel", root.GetProperty("distro").GetProperty("id").GetString());
        Assert.Equal("redhat", root.GetProperty("distro").GetProperty("family").GetString());
        Assert.Equal("x86_64", root.GetProperty("arch").GetString());
        Assert.Equal("not-ready", root.GetProperty("status").GetString());
        Assert.Equal(2, root.GetProperty("exitCode").GetInt32());
        var checks = root.GetProperty("checks").EnumerateArray().ToList();
        Assert.Equal(StableIds, checks.Select(c => c.GetProperty("id").GetString()));
        Assert.All(checks, c => Assert.Contains(c.GetProperty("status").GetString(), new[] { "ok", "warn", "fail", "skip" }));
        var sysrq = checks.Single(c => c.GetProperty("id").GetString() == "sysctl.kernel.sysrq");
        Assert.Equal("warn", sysrq.GetProperty("status").GetString());
        var steps = sysrq.GetProperty("fix").GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal("file", steps[0].GetProperty("kind").GetString());
        Assert.Equal("/etc/sysctl.d/90-kdx-kdump.conf", steps[0].GetProperty("file").GetString());
        Assert.Equal("kernel.sysrq = 1", steps[0].GetProperty("line").GetString());
        Assert.Equal(JsonValueKind.Null, steps[0].GetProperty("replacesLine").ValueKind);
        Assert.Equal("command", steps[1].GetProperty("kind").GetString());
        var cmdline = checks.Single(c => c.GetProperty("id").GetString() == "crashkernel.cmdline");
        Assert.Equal(2, cmdline.GetProperty("fix").GetProperty("steps").EnumerateArray()
            .Single(s => s.GetProperty("kind").GetString() == "file").GetProperty("replacesLine").GetInt32());
        Assert.Equal(JsonValueKind.Null, checks[0].GetProperty("fix").ValueKind);
    }

    [Fact]
    public void Text_report_lines_and_verdict()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        var w = new StringWriter();
        DoctorOutput.WriteText(f.Run(), w);
        var text = w.ToString();
        Assert.Contains("Debian GNU/Linux 12 (bookworm), x86_64, kernel 6.1.0-21-amd64", text);
        Assert.Contains("ok    crashkernel.loaded", text);
        Assert.EndsWith("result: ready to capture a crash dump\n", text.Replace("\r\n", "\n", StringComparison.Ordinal));

        f.Sysctl("kernel.panic_on_oops", 0);
        w = new StringWriter();
        DoctorOutput.WriteText(f.Run(), w);
        Assert.Contains("warn  sysctl.kernel.panic_on_oops", w.ToString());
        Assert.Contains("/etc/sysctl.d/90-kdx-kdump.conf: kernel.panic_on_oops = 1", w.ToString());
        Assert.Contains("result: ready, with 1 warning(s)", w.ToString());
    }

    [Fact]
    public void Fix_plan_merges_sysctls_and_edits_grub()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Sysctl("kernel.sysrq", 0).Sysctl("kernel.unknown_nmi_panic", 0).Cmdline("ro quiet").Reserved(0)
            .File(FixRenderer.SysctlDropIn, "# mine\nkernel.sysrq=0\nvm.swappiness = 10\n");
        var report = f.Run();
        var plan = FixPlan.From(report);
        var dropIn = plan.Writes.Single(w => !w.IsBootConfig);
        Assert.Equal("# mine\nkernel.sysrq = 1\nvm.swappiness = 10\nkernel.unknown_nmi_panic = 1\n", dropIn.Content);
        var grub = plan.Writes.Single(w => w.IsBootConfig);
        Assert.Equal("/etc/default/grub", grub.Path);
        Assert.Contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet crashkernel=512M-:192M\"\n", grub.Content);
        Assert.Contains("GRUB_DEFAULT=0\n", grub.Content);
        Assert.Equal(["sysctl -p /etc/sysctl.d/90-kdx-kdump.conf", "update-grub", "reboot"], plan.FollowUp);

        var w = new StringWriter();
        DoctorOutput.WriteFixes(report, plan, w);
        Assert.Contains("# --- /etc/sysctl.d/90-kdx-kdump.conf as `kdx doctor --apply` would write it:", w.ToString());
        Assert.Contains("# --- /etc/default/grub as `kdx doctor --apply --yes` would write it:", w.ToString());
    }

    [Fact]
    public void Apply_writes_atomically_under_the_root_only()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Sysctl("kernel.panic_on_oops", 0);
        var fs = new RootedFileSystem(f.Root);
        var plan = FixPlan.From(f.Run());
        foreach (var write in plan.Writes)
            FixPlan.Apply(fs, write);
        Assert.Equal("# Written by kdx doctor --apply: settings that turn failures into crash dumps.\nkernel.panic_on_oops = 1\n",
            File.ReadAllText(f.Path(FixRenderer.SysctlDropIn)));
        Assert.Empty(Directory.GetFiles(f.Path("/etc/sysctl.d"), "*.tmp"));
        Assert.False(File.Exists(FixRenderer.SysctlDropIn) && File.ReadAllText(FixRenderer.SysctlDropIn).Contains("kdx doctor", StringComparison.Ordinal));

        // A drop-in that is a symlink pointing at an absolute path is followed inside the root.
        f.Remove(FixRenderer.SysctlDropIn).Dir("/usr/lib/kdx").Link(FixRenderer.SysctlDropIn, "/usr/lib/kdx/sysctl.conf");
        FixPlan.Apply(fs, plan.Writes[0]);
        Assert.True(File.Exists(f.Path("/usr/lib/kdx/sysctl.conf")));
    }

    [Fact]
    public void Boot_config_edit_replaces_an_existing_crashkernel()
    {
        var (text, line, replaced) = BootConfig.SetArgument("A=1\r\nGRUB_CMDLINE_LINUX=\"crashkernel=auto rhgb quiet\"\r\n", "GRUB_CMDLINE_LINUX", "crashkernel", "256M");
        Assert.Equal("GRUB_CMDLINE_LINUX=\"rhgb quiet crashkernel=256M\"", line);
        Assert.Equal(2, replaced);
        Assert.Equal("A=1\r\nGRUB_CMDLINE_LINUX=\"rhgb quiet crashkernel=256M\"\r\n", text);
        var added = BootConfig.SetArgument("", "GRUB_CMDLINE_LINUX_DEFAULT", "crashkernel", "192M");
        Assert.Equal("GRUB_CMDLINE_LINUX_DEFAULT=\"crashkernel=192M\"", added.Line);
        Assert.Null(added.ReplacedLine);
    }
}
