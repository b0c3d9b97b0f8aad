// `kdx doctor` end to end through the command line: exit codes, JSON on stdout, usage errors,
// and --apply's confirmation, --yes and staying inside --root.
using System.CommandLine;
using System.Text.Json;
using Kdx.Cli;
using Kdx.Cli.Commands;

namespace Kdx.Cli.Tests;

public sealed class DoctorCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kdx-doctor-cli-").FullName;

    public DoctorCommandTests()
    {
        // A Debian machine without crashkernel= and with panic_on_oops off: a boot fix and a sysctl fix.
        Write("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
        Write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz ro quiet\n");
        Write("/proc/meminfo", "MemTotal: 8388608 kB\nMemFree: 4194304 kB\n");
        Write("/proc/sys/kernel/panic_on_oops", "0\n");
        Write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    }

    private void Write(string path, string text)
    {
        var p = Path.Combine(_root, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    private string Read(string path) => File.ReadAllText(Path.Combine(_root, path.TrimStart('/')));

    private (int Code, string Out, string Err) Run(string input, params string[] args)
    {
        var root = new RootCommand { new DoctorCommand(new StringReader(input)).Build() };
        var (o, e) = (new StringWriter(), new StringWriter());
        int code;
        try
        {
            code = root.Parse(args).Invoke(new InvocationConfiguration { Output = o, Error = e, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            code = KdxProgram.Report(ex, e);
        }
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Doctor_is_registered()
    {
        Assert.Contains(KdxProgram.BuildRoot().Subcommands, c => c.Name == "doctor");
    }

    [Fact]
    public void Not_ready_root_exits_2_with_text_report()
    {
        var (code, output, _) = Run("", "doctor", "--root", _root);
        Assert.Equal(2, code);
        Assert.Contains("fail  crashkernel.cmdline", output);
        Assert.Contains("result: NOT READY", output);
    }

    [Fact]
    public void Json_goes_to_stdout_and_parses()
    {
        var (code, output, _) = Run("", "doctor", "--root", _root, "--json");
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("not-ready", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal(code, doc.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public void Json_with_apply_keeps_stdout_pure_json()
    {
        var (_, output, err) = Run("", "doctor", "--root", _root, "--json", "--apply", "--yes");
        using var doc = JsonDocument.Parse(output);
        Assert.Contains("wrote ", err);
        Assert.Contains("kernel.panic_on_oops = 1", Read("/etc/sysctl.d/90-kdx-kdump.conf"));
    }

    [Fact]
    public void Missing_root_is_a_usage_error()
    {
        var (code, _, err) = Run("", "doctor", "--root", Path.Combine(_root, "nope"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("no such directory", err);
    }

    [Fact]
    public void Fix_prints_files_and_commands_without_writing()
    {
        var (_, output, _) = Run("", "doctor", "--root", _root, "--fix");
        Assert.Contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet crashkernel=", output);
        Assert.Contains("kernel.panic_on_oops = 1", output);
        Assert.Contains("update-grub", output);
        Assert.False(File.Exists(Path.Combine(_root, "etc/sysctl.d/90-kdx-kdump.conf")));
    }

    [Fact]
    public void Apply_asks_and_no_means_nothing_written()
    {
        var (_, output, _) = Run("n\n", "doctor", "--root", _root, "--apply");
        Assert.Contains("[y/N]", output);
        Assert.Contains("nothing written", output);
        Assert.False(File.Exists(Path.Combine(_root, "etc/sysctl.d/90-kdx-kdump.conf")));
    }

    [Fact]
    public void Apply_yes_at_prompt_writes_sysctls_but_not_boot_config()
    {
        var grub = Read("/etc/default/grub");
        var (_, output, _) = Run("y\n", "doctor", "--root", _root, "--apply");
        Assert.Contains("boot configuration is changed only with --yes", output);
        Assert.Contains("kernel.panic_on_oops = 1", Read("/etc/sysctl.d/90-kdx-kdump.conf"));
        Assert.Equal(grub, Read("/etc/default/grub"));
    }

    [Fact]
    public void Apply_with_yes_writes_boot_config_too_without_asking()
    {
        var (_, output, _) = Run("", "doctor", "--root", _root, "--apply", "--yes");
        Assert.DoesNotContain("[y/N]", output);
        Assert.Contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet crashkernel=", Read("/etc/default/grub"));
        Assert.Contains("now run: sysctl -p /etc/sysctl.d/90-kdx-kdump.conf && update-grub && reboot", output);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
