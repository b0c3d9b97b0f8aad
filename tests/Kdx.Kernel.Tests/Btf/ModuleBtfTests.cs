// Walking btf_modules in synthetic memory: each module's split BTF is found through layouts the
// vmlinux BTF declares, a module whose data is missing is reported and skipped, a cyclic list ends.
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Btf;

public class ModuleBtfTests
{
    private const ulong Head = 0xffffffff82b46ec0;
    private const ulong Heap = 0xffff888000200000;

    /// <summary>vmlinux BTF with list_head, btf_module { list; btf* } and btf { data@40; data_size@8; name[16]@64 } (not the real layout).</summary>
    private static (BtfTypes Vmlinux, byte[] Blob) Vmlinux()
    {
        var b = new BtfBuilder();
        var u32 = b.Int("unsigned int", 4, 32);
        var chr = b.Int("char", 1, 8, BtfIntEncoding.Char);
        var idx = b.Int("__ARRAY_SIZE_TYPE__", 4, 32);
        var voidPtr = b.Ptr(0);
        var lh = b.Struct("list_head", 16, ("next", 0, 0, 0), ("prev", 0, 64, 0));
        var name = b.Array(chr, idx, 16);
        var btf = b.Struct("btf", 96, ("data_size", u32, 64, 0), ("data", voidPtr, 320, 0), ("name", name, 512, 0));
        b.Struct("btf_module", 40, ("flags", u32, 0, 0), ("list", lh, 64, 0), ("btf", b.Ptr(btf), 256, 0));
        var blob = b.Build();
        return (BtfTypes.Parse(blob, "vmlinux"), blob);
    }

    private static byte[] ModuleBlob(BtfTypes vmlinux, int baseStrings, string structName)
    {
        var m = new BtfBuilder(vmlinux, baseStrings);
        m.Struct(structName, 8, ("state", 1, 0, 0));
        return m.Build();
    }

    private static (SparseMemory Memory, SymbolTable Symbols, BtfTypes Vmlinux) Build(bool cyclic = false, bool missingData = false)
    {
        var (vmlinux, blob) = Vmlinux();
        var strings = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(20));
        var memory = new SparseMemory();
        memory.Map(Head, 16);
        memory.Map(Heap, 0x10000);
        string[] names = ["loop", "virtio_blk"];
        var entries = new ulong[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var entry = Heap + (ulong)i * 0x1000;
            var btf = entry + 0x100;
            var data = entry + 0x200;
            var moduleBlob = ModuleBlob(vmlinux, strings, names[i] + "_state");
            memory.WriteU64(entry + 32, btf);                 // btf_module.btf
            memory.WriteU32(btf + 8, (uint)moduleBlob.Length); // btf.data_size
            memory.WriteU64(btf + 40, missingData && i == 0 ? 0xffffc90000000000 : data);
            memory.WriteString(btf + 64, names[i]);
            memory.Write(data, moduleBlob);
            entries[i] = entry;
        }
        // Head → entry0.list → entry1.list → head (list at offset 8 of btf_module).
        memory.WriteU64(Head, entries[0] + 8);
        memory.WriteU64(entries[0] + 8, entries[1] + 8);
        memory.WriteU64(entries[1] + 8, cyclic ? entries[0] + 8 : Head);
        var symbols = SystemMap.Parse(new StringReader($"{Head:x} d btf_modules\n"), "map");
        return (memory, symbols, vmlinux);
    }

    [Fact]
    public void EveryListedModuleIsParsedOnTopOfVmlinux()
    {
        var (memory, symbols, vmlinux) = Build();
        var modules = ModuleBtf.ReadAll(memory, symbols, vmlinux);
        Assert.Equal(["loop", "virtio_blk"], modules.Select(m => m.Module));
        Assert.All(modules, m => Assert.Equal(vmlinux.EndId, m.Types!.FirstId));
        Assert.NotNull(modules[1].Types!.Find("virtio_blk_state", BtfKind.Struct));
        Assert.NotNull(modules[1].Types!.Find("list_head", BtfKind.Struct));
    }

    [Fact]
    public void AModuleWhoseDataIsMissingIsReportedAndTheRestRead()
    {
        var (memory, symbols, vmlinux) = Build(missingData: true);
        var modules = ModuleBtf.ReadAll(memory, symbols, vmlinux);
        Assert.Null(modules[0].Types);
        Assert.Contains("0x", modules[0].Problem);
        Assert.NotNull(modules[1].Types);
    }

    [Fact]
    public void ACyclicListEndsInAFormatError()
    {
        var (memory, symbols, vmlinux) = Build(cyclic: true);
        Assert.Contains("cyclic", Assert.Throws<DumpFormatException>(() => ModuleBtf.ReadAll(memory, symbols, vmlinux)).Problem);
    }

    [Fact]
    public void NoBtfModulesSymbolMeansNoModules()
    {
        var (memory, _, vmlinux) = Build();
        Assert.Empty(ModuleBtf.ReadAll(memory, SystemMap.Parse(new StringReader(""), "empty"), vmlinux));
    }
}
