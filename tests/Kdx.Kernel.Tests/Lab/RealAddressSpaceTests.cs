// Kernel virtual reads on real lab dumps: init_uts_ns through the KASLR-shifted kernel image,
// the direct map found in the page tables, and both checked against crash's `sys`.
using System.Text;
using System.Text.RegularExpressions;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Lab;

namespace Kdx.Kernel.Tests.Lab;

[Trait("Category", "Lab")]
public class RealAddressSpaceTests
{
    public static TheoryData<string, string> Dumps => new()
    {
        { "kdump", "kdump-mdf-l-d31" },
        { "kdump", "kdump-mdf-F-l-d31" },
        { "qemu", "qemu-elf" },
        { "qemu", "qemu-kdump-zlib" },
        { "la57", "qemu-elf" },
    };

    private static LabResult Scenario(string which) => LabCatalog.Build(which switch
    {
        "kdump" => LabCatalog.SysrqKdump(),
        "la57" => LabCatalog.La57Qemu(),
        _ => LabCatalog.SysrqQemu(),
    });

    [Fact]
    public void Five_level_guest_walks_five_levels()
    {
        var lab = Scenario("la57");
        Assert.True(lab.Metadata.La57);
        using var dump = DumpFile.Open(lab.Dump("qemu-elf"));
        var kernel = KernelMemory.Open(dump);
        Assert.Equal(5, kernel.Levels);
        // With LA57 the direct map lives in the 5-level kernel half, below the 4-level one.
        Assert.InRange(kernel.DirectMapBase!.Value, 0xff00000000000000, 0xff7fffffffffffff);
    }

    [Theory]
    [MemberData(nameof(Dumps))]
    public void Reads_utsname_through_the_kernel_page_tables(string scenario, string capture)
    {
        var lab = Scenario(scenario);
        using var dump = DumpFile.Open(lab.Dump(capture));
        var kernel = KernelMemory.Open(dump);
        var info = dump.VmcoreInfo!;
        var uts = info.Symbol("init_uts_ns")!.Value + info.Offset("uts_namespace", "name")!.Value;
        Assert.Equal("Linux", Field(kernel, uts, 0));
        Assert.Equal(lab.Metadata.Kernel, Field(kernel, uts, 2));
        Assert.StartsWith("#1 SMP PREEMPT_DYNAMIC Debian " + lab.Metadata.KernelPackageVersion, Field(kernel, uts, 3));
        Assert.Equal("x86_64", Field(kernel, uts, 4));
        var sysFile = Path.Combine(lab.Directory, "oracle", "crash-sys.txt");
        if (File.Exists(sysFile))
        {
            var sys = File.ReadAllText(sysFile);
            Assert.Equal(Regex.Match(sys, @"NODENAME: (\S+)").Groups[1].Value, Field(kernel, uts, 1));
        }
    }

    [Theory]
    [MemberData(nameof(Dumps))]
    public void Direct_map_found_in_the_tables_maps_physical_memory(string scenario, string capture)
    {
        var lab = Scenario(scenario);
        using var dump = DumpFile.Open(lab.Dump(capture));
        var kernel = KernelMemory.Open(dump);
        var baseAddr = kernel.DirectMapBase;
        Assert.NotNull(baseAddr);
        Assert.Equal(0UL, baseAddr!.Value % (1UL << 30));
        var viaVirtual = new byte[4096];
        var viaPhysical = new byte[4096];
        var checkedPages = 0;
        // Only RAM is in the direct map; QEMU's ELF also holds the BIOS ROM below 4 GiB. The lab's
        // guests have all their RAM below 3 GiB, so RAM is pfns 0 .. ram_mib * 256.
        var ramPages = Math.Min(dump.MaxPfn, (ulong)lab.Metadata.RamMiB * 256);
        for (ulong pfn = 0; pfn < ramPages; pfn += 97)
        {
            if (!dump.GetPageState(pfn).IsReadable())
                continue;
            dump.Read(pfn * 4096, viaPhysical);
            kernel.Read(baseAddr.Value + pfn * 4096, viaVirtual);
            Assert.True(viaPhysical.AsSpan().SequenceEqual(viaVirtual), $"pfn 0x{pfn:x}");
            checkedPages++;
        }
        Assert.True(checkedPages > 50);
        // QEMU's notes say where each CPU's per-CPU area is: inside the direct map.
        foreach (var q in dump.QemuCpus)
            Assert.InRange(q.GsBase, baseAddr.Value, baseAddr.Value + (1UL << 46));
    }

    private static string Field(X86_64AddressSpace kernel, ulong uts, int index)
    {
        var b = new byte[65];
        kernel.Read(uts + (ulong)(65 * index), b);
        var s = Encoding.ASCII.GetString(b);
        var nul = s.IndexOf('\0');
        return nul >= 0 ? s[..nul] : s;
    }
}
