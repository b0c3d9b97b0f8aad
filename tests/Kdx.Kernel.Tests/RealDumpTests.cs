// The kernel readers against every capture of the crash lab's real Debian 6.1 dumps (KASLR on;
// ELF, kdump-compressed, flattened and split; dump levels 1 and 31): kallsyms equals System.map
// moved by KERNELOFFSET, BTF between __start_BTF and __stop_BTF is the vmlinux's .BTF byte for
// byte, each loaded module's BTF is its .ko's, and the log renders exactly as crash's `log` and
// makedumpfile --dump-dmesg wrote it.
using System.Text;
using System.Text.RegularExpressions;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Images;
using Kdx.Kernel.Log;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests;

public class RealDumpTests(ITestOutputHelper output)
{
    public static TheoryData<string> Captures()
    {
        var data = new TheoryData<string>();
        foreach (var c in LabDumps.Captures())
            data.Add(c);
        return data;
    }

    private static readonly Lazy<SymbolTable> LinkMap = new(() => SystemMap.Load(Oracles.SystemMap));


    [Theory]
    [MemberData(nameof(Captures))]
    public void KallsymsEqualSystemMapPlusKernelOffset(string capture)
    {
        var (dump, kernel) = LabDumps.Load(capture);
        var info = dump.VmcoreInfo!;
        Assert.NotEqual(0UL, info.KernelOffset); // the lab boots with KASLR
        var map = SystemMap.Load(Oracles.SystemMap, info.KernelOffset);
        var differences = 0;
        foreach (var s in kernel.Symbols.Symbols)
        {
            // Per-CPU symbols become 'A' in kallsyms (KALLSYMS_ABSOLUTE_PERCPU) and do not move with KASLR.
            var same = map.LookupAll(s.Name).Any(m => m.Address == s.Address && (m.Type == s.Type || s.Type == 'A'));
            if (!same && differences++ < 10)
                output.WriteLine($"differs: {s}");
        }
        Assert.Equal(0, differences);
        Assert.InRange(kernel.Symbols.Count, LinkMap.Value.Count - 200, LinkMap.Value.Count);
        Assert.Equal(info.Symbol("_stext"), kernel.Symbols.Lookup("_stext")!.Value.Address);
        Assert.Equal(info.Symbol("prb"), kernel.Symbols.Lookup("prb")!.Value.Address);
        Assert.Equal(info.Symbol("init_top_pgt"), kernel.Symbols.Lookup("init_top_pgt")!.Value.Address);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void BtfInTheDumpIsTheVmlinuxBtf(string capture)
    {
        var (dump, kernel) = LabDumps.Load(capture);
        var btf = kernel.Btf;
        Assert.True(btf is not null, kernel.BtfProblem);
        var start = kernel.Symbols.Lookup("__start_BTF")!.Value.Address;
        var stop = kernel.Symbols.Lookup("__stop_BTF")!.Value.Address;
        using var vmlinux = ElfImage.Open(Oracles.Vmlinux);
        var section = vmlinux.FindSection(".BTF")!.Value;
        var fromDump = new byte[stop - start];
        kernel.Memory.Read(start, fromDump);
        Assert.Equal(vmlinux.ReadSection(section, BtfTypes.MaxBlobLength), fromDump);

        // VMCOREINFO's printk layout and BTF's agree.
        var info = dump.VmcoreInfo!;
        (string, string)[] members = [("printk_info", "caller_id"), ("printk_info", "dev_info"), ("prb_desc", "text_blk_lpos"),
            ("prb_desc_ring", "tail_id"), ("printk_ringbuffer", "text_data_ring"), ("prb_data_ring", "data"), ("page", "lru"), ("page", "_mapcount")];
        foreach (var (s, m) in members)
            Assert.Equal(info.Offset(s, m), btf.OffsetOf(s, m));
        Assert.Equal(info.Size("printk_info"), btf.SizeOf("printk_info"));
        Assert.Equal(info.Size("page"), btf.SizeOf("page"));
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void ModuleBtfEqualsTheKoSections(string capture)
    {
        var (_, kernel) = LabDumps.Load(capture);
        var kos = Directory.GetFiles(Oracles.ModulesDir, "*.ko", SearchOption.AllDirectories)
            .GroupBy(p => Path.GetFileNameWithoutExtension(p).Replace('-', '_'))
            .ToDictionary(g => g.Key, g => g.First());
        var compared = 0;
        foreach (var m in kernel.ModuleBtf)
        {
            output.WriteLine($"{m.Module}: {m.DataSize} bytes at 0x{m.DataAddress:x} {(m.Types is null ? m.Problem : $"{m.Types.OwnTypes.Count} types")}");
            if (m.Types is null || !kos.TryGetValue(m.Module, out var koPath))
                continue; // data excluded from the dump, or a module not from the Debian package (the lab's crashtest)
            using var ko = ElfImage.Open(koPath);
            var inDump = new byte[m.DataSize];
            kernel.Memory.Read(m.DataAddress, inDump);
            Assert.Equal(ko.ReadSection(ko.FindSection(".BTF")!.Value, BtfTypes.MaxBlobLength), inDump);
            compared++;
        }
        Assert.True(kernel.ModuleBtf.Count == 0 || compared > 0, "no module BTF could be compared");
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void LogMatchesTheOracles(string capture)
    {
        var (_, kernel) = LabDumps.Load(capture);
        var log = kernel.Log;
        Assert.Equal(LogBufferKind.LocklessRing, log.Kind);
        Assert.All(log.Records, r => Assert.NotNull(r.Level));
        var text = LogFormatter.Format(log.Records);
        Assert.Matches(new Regex(LabDumps.ExpectedPanic(capture)), text);

        var dir = LabDumps.ScenarioDir(capture);
        var compared = new List<string>();
        foreach (var golden in (string[])["makedumpfile-dmesg.txt", "oracle/crash-log.txt"])
        {
            var path = Path.Combine(dir, golden);
            if (!File.Exists(path))
                continue;
            Assert.Equal(File.ReadAllText(path, Encoding.Latin1), text);
            compared.Add(golden);
        }
        var withCaller = Path.Combine(dir, "oracle/makedumpfile-1.7.8-dmesg.txt");
        if (File.Exists(withCaller))
        {
            Assert.Equal(File.ReadAllText(withCaller, Encoding.Latin1), LogFormatter.Format(log.Records, new LogFormatOptions { CallerWidth = 8 }));
            compared.Add("makedumpfile 1.7.8 (caller ids)");
        }
        output.WriteLine($"{log.Records.Count} records; exact match with: {(compared.Count == 0 ? "(no text oracle in this scenario)" : string.Join(", ", compared))}");
    }
}
