// A made-up crashed x86_64 kernel in a SyntheticMachine: KASLR-shifted image mapped with 2M pages,
// init_top_pgt inside it, a randomised direct map (4K, 2M and 1G pages), vmalloc and module pages,
// init_uts_ns and a banner string, and the VMCOREINFO that describes it all.
using System.Text;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Kernel.Tests.Arch;

public sealed class SyntheticKernel
{
    public const ulong StartKernelMap = 0xffffffff80000000;
    public const ulong KernelOffset = 0x1e000000;
    public const ulong PhysBase = 0x2a00000;
    public const ulong ImageStart = 0xffffffff81000000 + KernelOffset;
    public const ulong ImageSize = 32UL << 20;
    public const string Release = "6.1.0-synthetic-amd64";
    public const string Banner = "Linux version 6.1.0-synthetic-amd64 (kdx tests)";

    public SyntheticMachine Machine { get; } = new() { MaxPfn = 0x80000 }; // 2 GiB
    public int Levels { get; }
    public ulong DirectMap { get; }
    public ulong Vmalloc { get; }
    public ulong Module { get; }
    public ulong InitTopPgt => ImageStart + 0x1000000;
    public ulong InitUtsNs => ImageStart + 0x1200040;
    public ulong LinuxBanner => ImageStart + 0x0800ff0; // 16 bytes before a 4K boundary
    public ulong[] VmallocPfns { get; } = [0x5000, 0x1234, 0x7777];
    public PageTableBuilder Tables { get; }

    public static ulong ImageToPhys(ulong vaddr) => vaddr - StartKernelMap + PhysBase;

    public SyntheticKernel(int levels, ulong smeBit = 0)
    {
        Levels = levels;
        DirectMap = levels == 5 ? 0xff11a6c000000000 : 0xffff9d5a40000000;
        Vmalloc = levels == 5 ? 0xffa0bb0000000000 : 0xffffb4c7c0000000;
        Module = 0xffffffffc0a00000;
        Tables = new PageTableBuilder(Machine, levels, firstTablePfn: 0x100, rootPfn: ImageToPhys(InitTopPgt) / 4096) { EntryBits = smeBit };

        Tables.Map(ImageStart, ImageToPhys(ImageStart), ImageSize, 2UL << 20);
        Tables.Map(DirectMap, 0, 2UL << 20, 4096);
        Tables.Map(DirectMap + (2UL << 20), 2UL << 20, (1UL << 30) - (2UL << 20), 2UL << 20);
        Tables.Map(DirectMap + (1UL << 30), 1UL << 30, 1UL << 30, 1UL << 30);
        for (var i = 0; i < VmallocPfns.Length; i++)
            Tables.Map(Vmalloc + (ulong)i * 4096, VmallocPfns[i] * 4096, 4096, 4096);
        Tables.Map(Module, 0x6000UL * 4096, 2 * 4096, 4096);

        Write(ImageToPhys(LinuxBanner), Encoding.ASCII.GetBytes(Banner + "\0"));
        var uts = new byte[6 * 65];
        Encoding.ASCII.GetBytes("Linux").CopyTo(uts, 0);
        Encoding.ASCII.GetBytes(Release).CopyTo(uts, 2 * 65);
        Write(ImageToPhys(InitUtsNs) + 4, uts);
        for (var i = 0; i < VmallocPfns.Length; i++)
            Write(VmallocPfns[i] * 4096, Enumerable.Repeat((byte)(0xa0 + i), 4096).ToArray());
        Write(0x6000UL * 4096, Encoding.ASCII.GetBytes("module text"));
        // Something at physical 16 MiB and 1 GiB + 8 for the direct map to show.
        Write(16UL << 20, Encoding.ASCII.GetBytes("sixteen"));
        Write((1UL << 30) + 8, Encoding.ASCII.GetBytes("one gig"));
        Write((2UL << 20) - 8, Encoding.ASCII.GetBytes("4K page|2M page|"));

        Machine.VmcoreInfo = string.Join('\n',
            $"OSRELEASE={Release}",
            "PAGESIZE=4096",
            $"SYMBOL(init_uts_ns)={InitUtsNs:x}",
            "OFFSET(uts_namespace.name)=4",
            $"SYMBOL(init_top_pgt)={InitTopPgt:x}",
            $"NUMBER(pgtable_l5_enabled)={(levels == 5 ? 1 : 0)}",
            $"NUMBER(phys_base)={PhysBase}",
            $"NUMBER(sme_mask)={smeBit}",
            $"KERNELOFFSET={KernelOffset:x}",
            "CRASHTIME=1763865000",
            "");
        Machine.Cpus.Add((1, SyntheticMachine.Regs(0)));
    }

    /// <summary>Writes bytes at a physical address, creating pages as needed.</summary>
    public void Write(ulong paddr, byte[] data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            var a = paddr + (ulong)i;
            if (!Machine.Pages.TryGetValue(a / 4096, out var page))
                Machine.Pages[a / 4096] = page = new byte[4096];
            page[a % 4096] = data[i];
        }
    }
}
