// BTF of the modules loaded in the dumped kernel: the kernel keeps each module's .BTF (split on
// vmlinux's) on the btf_modules list; struct btf_module and struct btf are laid out per the
// kernel's own BTF, so no offset is assumed.
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Btf;

/// <summary>One module's BTF, or why it could not be read.</summary>
public sealed record LoadedModuleBtf(string Module, ulong DataAddress, uint DataSize, BtfTypes? Types, string? Problem);

public static class ModuleBtf
{
    /// <summary>Most list entries walked (a corrupt list could otherwise cycle).</summary>
    public const int MaxModules = 16384;

    public static IReadOnlyList<LoadedModuleBtf> ReadAll(IKernelMemory memory, SymbolTable symbols, BtfTypes vmlinux)
    {
        if (symbols.Lookup("btf_modules") is not { } head)
            return []; // kernel without CONFIG_DEBUG_INFO_BTF_MODULES
        var listOffset = Require(vmlinux, "btf_module.list");
        var btfOffset = Require(vmlinux, "btf_module.btf");
        var nextOffset = Require(vmlinux, "list_head.next");
        var dataOffset = Require(vmlinux, "btf.data");
        var sizeOffset = Require(vmlinux, "btf.data_size");
        var name = vmlinux.Field("btf.name");
        var nameLength = (int)Math.Min(vmlinux.SizeOf(name.Type) ?? 64, 256); // a read bound only: the name ends at its NUL

        var result = new List<LoadedModuleBtf>();
        var node = memory.ReadPointer(head.Address + nextOffset);
        for (var n = 0; node != head.Address; n++)
        {
            if (n == MaxModules)
                throw new DumpFormatException("btf_modules", (long)head.Address, $"list longer than {MaxModules} entries (corrupt or cyclic)");
            var entry = node - listOffset;
            var btf = memory.ReadPointer(entry + btfOffset);
            result.Add(ReadOne(memory, vmlinux, btf, dataOffset, sizeOffset, name.ByteOffset, nameLength));
            node = memory.ReadPointer(node + nextOffset);
        }
        return result;
    }

    private static LoadedModuleBtf ReadOne(IKernelMemory memory, BtfTypes vmlinux, ulong btf, ulong dataOffset, ulong sizeOffset,
        ulong nameOffset, int nameLength)
    {
        var module = $"btf@0x{btf:x}";
        ulong data = 0;
        uint size = 0;
        try
        {
            module = memory.ReadCString(btf + nameOffset, nameLength);
            data = memory.ReadPointer(btf + dataOffset);
            size = memory.ReadU32(btf + sizeOffset);
            var types = BtfTypes.FromMemory(memory, data, data + size, vmlinux);
            return new LoadedModuleBtf(module, data, size, types, null);
        }
        catch (Exception e) when (e is DumpFormatException or PageNotInDumpException)
        {
            return new LoadedModuleBtf(module, data, size, null, e.Message);
        }
    }

    private static ulong Require(BtfTypes btf, string path) =>
        btf.TryField(path, out var f, out var problem)
            ? f.ByteOffset
            : throw new DumpFormatException(btf.Source, 0, $"vmlinux BTF lacks {path}: {problem}");
}
