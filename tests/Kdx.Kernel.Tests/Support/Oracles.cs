// The real-data oracles, built or fetched on first use through the lab (never "skipped"): the
// host's own BTF, bpftool and nm (lab/install-deps.sh), the lab kernel's -dbg vmlinux, its real
// System.map and its modules.
using System.Buffers.Binary;
using System.Diagnostics;

namespace Kdx.Kernel.Tests.Support;

public static class Oracles
{
    /// <summary>The test host's own kernel BTF.</summary>
    public static string HostBtf => RequireFile("/sys/kernel/btf/vmlinux");

    /// <summary>The lab's default kernel (what LabCatalog's "default" scenarios boot).</summary>
    public static string Release => Kdx.Lab.Kernels.ResolveDefault();

    private static readonly Lazy<(string Vmlinux, string SystemMap)> DebugFiles = new(() => Kdx.Lab.Oracles.EnsureDebugFiles(Release));

    /// <summary>The -dbg package's vmlinux (DWARF, .symtab), fetched on first use.</summary>
    public static string DebugVmlinux => DebugFiles.Value.Vmlinux;

    private static readonly Lazy<string> Unpacked = new(() => UnpackVmlinuz(Kdx.Lab.Kernels.Image(Release)));

    /// <summary>The stripped vmlinux the kernel package boots: the xz payload of its vmlinuz, unpacked once.</summary>
    public static string Vmlinux => Unpacked.Value;

    /// <summary>
    /// bzImage: the setup code is (setup_sects at 0x1f1, 0 meaning 4) + 1 sectors of 512 bytes;
    /// the compressed kernel starts payload_offset (0x248) after it and is payload_length (0x24c)
    /// bytes long (Documentation/arch/x86/boot.rst). Debian compresses it with xz.
    /// </summary>
    private static string UnpackVmlinuz(Kdx.Lab.KernelImage image)
    {
        var target = Path.Combine(image.Root, $"vmlinux-{image.Release}");
        if (File.Exists(target))
            return target;
        var data = File.ReadAllBytes(image.Vmlinuz);
        var setupSectors = data[0x1f1] == 0 ? 4 : data[0x1f1];
        var offset = (setupSectors + 1) * 512 + (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x248));
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x24c));
        var payload = target + ".xz";
        File.WriteAllBytes(payload, data.AsSpan(offset, length).ToArray());
        var psi = new ProcessStartInfo(Require("xz")) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])["-dc", "--single-stream", payload])
            psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        using (var output = File.Create(target + ".tmp"))
        {
            p.StandardOutput.BaseStream.CopyTo(output);
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"xz could not unpack the payload of {image.Vmlinuz} (exit {p.ExitCode})");
        }
        File.Delete(payload);
        File.Move(target + ".tmp", target, true);
        return target;
    }

    /// <summary>The real System.map of the -dbg package (Debian's /boot one is a placeholder).</summary>
    public static string SystemMap => DebugFiles.Value.SystemMap;

    /// <summary>The kernel package's modules (lib/modules/RELEASE/kernel), unpacked by the lab.</summary>
    public static string ModulesDir => Path.Combine(Kdx.Lab.Kernels.Image(Release).ModulesDir, "kernel");

    /// <summary>A tool the real-data tests compare against; missing is a failure, not a skip.</summary>
    public static string Require(string tool) =>
        Which(tool) ?? throw new InvalidOperationException($"{tool} is not installed: run lab/install-deps.sh");

    /// <summary>A file the machine must provide (the host's BTF); missing is a failure, not a skip.</summary>
    public static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: the test host's kernel must have CONFIG_DEBUG_INFO_BTF", path);

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
        var r = Kdx.Lab.Sh.Try(Require(tool), args);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}");
        return r.Stdout;
    }
}
