// Builds real scenarios (QEMU TCG guests running Debian's kernel) and checks what they leave:
// the dump files with the right format signature, and the console's panic line.
using System.Diagnostics;
using System.Text;
using Kdx.Lab;

namespace Kdx.Lab.Tests;

public class LabEndToEndTests
{
    [Fact]
    public void RealKdumpCaptureWithMakedumpfile()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        AssertPanicked(lab, "sysrq triggered crash");
        Assert.Equal("kdump", lab.Metadata.CaptureMethod);
        Assert.Contains("KDXLAB-KDUMP-LOADED 1", File.ReadAllText(lab.ConsoleLog));
        Assert.Contains("KDXLAB-CAPTURE-KERNEL", File.ReadAllText(lab.ConsoleLog));
        AssertDump(lab, "kdump-mdf-l-d31", "kdump", "KDUMP   ");
        AssertDump(lab, "kdump-mdf-c-d31", "kdump", "KDUMP   ");
        AssertDump(lab, "kdump-mdf-c-d1", "kdump", "KDUMP   ");
        AssertDump(lab, "kdump-mdf-F-l-d31", "flattened", "makedumpfile");
        var parts = lab.Files("kdump-mdf-split-l-d31");
        Assert.Equal(CaptureSpec.SplitParts, parts.Count);
        foreach (var p in parts)
            Assert.Equal("KDUMP   ", Head(p, 8));
        // Level 1 keeps every non-zero page, level 31 far fewer: the filtering really happened.
        Assert.True(new FileInfo(lab.Dump("kdump-mdf-c-d1")).Length > 2 * new FileInfo(lab.Dump("kdump-mdf-c-d31")).Length);
        // makedumpfile --dump-dmesg ran in the capture kernel and holds the panic.
        Assert.NotNull(lab.Metadata.MakedumpfileDmesg);
        Assert.Contains("sysrq triggered crash", File.ReadAllText(Path.Combine(lab.Directory, lab.Metadata.MakedumpfileDmesg!)));
    }

    [Fact]
    public void NmiFromTheQemuMonitorPanicsTheGuest()
    {
        var lab = LabCatalog.Build(LabCatalog.NmiQemu());
        AssertPanicked(lab, "NMI: Not continuing");
        Assert.Matches(@"NMI received for unknown reason [0-9a-f]{2} on CPU \d+", File.ReadAllText(lab.ConsoleLog));
        AssertDump(lab, "qemu-elf", "elf", "\u007fELF");
        AssertDump(lab, "qemu-kdump-zlib", "flattened", "makedumpfile");
    }

    [Fact]
    public void QemuElfDumpCarriesVmcoreinfo()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqQemu());
        AssertPanicked(lab, "sysrq triggered crash");
        var elf = AssertDump(lab, "qemu-elf", "elf", "\u007fELF");
        // The ELF notes come right after the program headers: VMCOREINFO's text must be there.
        var head = new byte[4 << 20];
        using (var f = File.OpenRead(elf))
            head = head[..f.Read(head)];
        var text = Encoding.ASCII.GetString(head);
        Assert.Contains("VMCOREINFO", text);
        Assert.Contains($"OSRELEASE={lab.Metadata.Kernel}\n", text);
        Assert.Matches("KERNELOFFSET=[0-9a-f]+\n", text);
    }

    [Fact]
    public void SecondBuildComesFromTheCache()
    {
        var first = LabCatalog.Build(LabCatalog.SysrqQemu());
        var clock = Stopwatch.StartNew();
        var again = LabCatalog.Build(LabCatalog.SysrqQemu());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cached build took {clock.Elapsed}");
        Assert.Equal(first.Directory, again.Directory);
        Assert.Equal(first.Metadata.BuiltUtc, again.Metadata.BuiltUtc);
    }

    private static void AssertPanicked(LabResult lab, string message)
    {
        Assert.Equal(message, lab.Metadata.PanicMessage);
        Assert.Contains($"Kernel panic - not syncing: {message}", File.ReadAllText(lab.ConsoleLog));
    }

    private static string AssertDump(LabResult lab, string id, string format, string signature)
    {
        var c = Assert.Single(lab.Metadata.Captures, c => c.Id == id);
        Assert.Equal(format, c.Format);
        var file = lab.Dump(id);
        Assert.True(new FileInfo(file).Length > 1 << 20, $"{file} is too small");
        Assert.Equal(signature, Head(file, signature.Length));
        return file;
    }

    private static string Head(string file, int n)
    {
        var b = new byte[n];
        using var f = File.OpenRead(file);
        f.ReadExactly(b);
        return Encoding.Latin1.GetString(b);
    }
}
