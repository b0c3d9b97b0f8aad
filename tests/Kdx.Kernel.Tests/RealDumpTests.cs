// The three readers against the crash lab's real Debian 6.1 dumps (KASLR on): kallsyms equals
// System.map moved by KERNELOFFSET, the BTF between __start_BTF and __stop_BTF is the vmlinux's
// .BTF byte for byte, and the log renders exactly as makedumpfile --dump-dmesg wrote it.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Images;
using Kdx.Kernel.Log;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests;

public class RealDumpTests(ITestOutputHelper output)
{
    public static TheoryData<string> Dumps()
    {
        var data = new TheoryData<string>();
        foreach (var d in LabDumps.VirtualElfDumps())
            data.Add(Path.GetRelativePath(LabDumps.ScenariosDir, d));
        if (data.Count == 0)
            data.Add("(no lab dumps)");
        return data;
    }

    private bool Ready(string dump)
    {
        if (dump != "(no lab dumps)" && Oracles.Available(Oracles.SystemMap, Oracles.Vmlinux))
            return true;
        output.WriteLine($"skipped: needs lab dumps under {LabDumps.ScenariosDir} and fetch-oracles.sh's files");
        return false;
    }

    [Theory]
    [MemberData(nameof(Dumps))]
    public void KallsymsFromTheDumpEqualSystemMapPlusKernelOffset(string dump)
    {
        if (!Ready(dump))
            return;
        using var core = ElfImage.Open(Path.Combine(LabDumps.ScenariosDir, dump));
        var info = LabDumps.ReadVmcoreInfo(core);
        Assert.NotEqual(0UL, info.KernelOffset); // the lab boots with KASLR
        var result = Kallsyms.Decode(core, info);
        Assert.Equal(KallsymsAddressing.AbsolutePercpu, result.Addressing);
        var map = SystemMap.Load(Oracles.SystemMap, info.KernelOffset);
        var differences = 0;
        foreach (var s in result.Table.Symbols)
        {
            var same = map.LookupAll(s.Name).Any(m => m.Address == s.Address && (m.Type == s.Type || s.Type == 'A'));
            if (!same && differences++ < 10)
                output.WriteLine($"differs: {s}");
        }
        Assert.Equal(0, differences);
        Assert.InRange(result.Table.Count, map.Count - 200, map.Count);
        Assert.Equal(info.Symbol("_stext"), result.Table.Lookup("_stext")!.Value.Address);
        Assert.Equal(info.Symbol("prb"), result.Table.Lookup("prb")!.Value.Address);
    }

    [Theory]
    [MemberData(nameof(Dumps))]
    public void BtfInTheDumpIsTheVmlinuxBtf(string dump)
    {
        if (!Ready(dump))
            return;
        using var core = ElfImage.Open(Path.Combine(LabDumps.ScenariosDir, dump));
        var info = LabDumps.ReadVmcoreInfo(core);
        var symbols = Kallsyms.Read(core, info);
        var start = symbols.Lookup("__start_BTF")!.Value.Address;
        var stop = symbols.Lookup("__stop_BTF")!.Value.Address;
        var inDump = BtfTypes.FromMemory(core, start, stop);

        using var vmlinux = ElfImage.Open(Oracles.Vmlinux);
        var section = vmlinux.FindSection(".BTF")!.Value;
        Assert.Equal(section.Size, stop - start);
        var fromDump = new byte[stop - start];
        core.Read(start, fromDump);
        Assert.Equal(vmlinux.ReadSection(section, BtfTypes.MaxBlobLength), fromDump);

        // And the printk layout VMCOREINFO states agrees with BTF's.
        (string, string)[] members = [("printk_info", "caller_id"), ("printk_info", "dev_info"), ("prb_desc", "text_blk_lpos"),
                     ("prb_desc_ring", "tail_id"), ("printk_ringbuffer", "text_data_ring"), ("prb_data_ring", "data")];
        foreach (var (s, m) in members)
            Assert.Equal(info.Offset(s, m), inDump.OffsetOf(s, m));
        Assert.Equal(info.Size("printk_info"), inDump.SizeOf("printk_info"));
        Assert.Equal(info.Size("prb_desc"), inDump.SizeOf("prb_desc"));
    }

    [Theory]
    [MemberData(nameof(Dumps))]
    public void LogEqualsMakedumpfileDumpDmesg(string dump)
    {
        if (!Ready(dump))
            return;
        var path = Path.Combine(LabDumps.ScenariosDir, dump);
        var golden = Path.Combine(Path.GetDirectoryName(path)!, "makedumpfile-dmesg.txt");
        if (!File.Exists(golden))
        {
            output.WriteLine($"skipped: no {golden}");
            return;
        }
        using var core = ElfImage.Open(path);
        var kernel = new DumpedKernel(core, LabDumps.ReadVmcoreInfo(core));
        var log = kernel.Log;
        Assert.NotNull(kernel.Btf); // level comes from BTF's printk_info bitfields
        Assert.Equal(LogBufferKind.LocklessRing, log.Kind);
        var expected = File.ReadAllText(golden, System.Text.Encoding.Latin1);
        var actual = LogFormatter.Format(log.Records);
        Assert.Equal(expected, actual);
        Assert.Contains(log.Records, r => r.Text.Contains("sysrq triggered crash") && r.Level == 0);
        Assert.All(log.Records, r => Assert.NotNull(r.Level));
    }
}
