// A loaded module's own symbols, the ones /proc/kallsyms shows as "[module]": struct module.kallsyms
// points at a struct mod_kallsyms { Elf64_Sym *symtab; num_symtab; char *strtab; } (layouts from
// BTF; Elf64_Sym is the ELF format's 24-byte symbol). Only what names backtrace frames.
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Unwind;

public static class ModuleSymbols
{
    /// <summary>Most symbols read from one module.</summary>
    public const int MaxSymbols = 1 << 18;

    private const int ElfSymSize = 24; // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64

    /// <summary>A NUL-terminated name of at most 128 bytes, read without crossing into a page it does not need.</summary>
    private static string ReadName(IKernelMemory m, ulong at)
    {
        const int Max = 128;
        var bytes = new List<byte>(32);
        while (bytes.Count < Max)
        {
            var chunk = (int)Math.Min((ulong)(Max - bytes.Count), 4096 - (at & 4095));
            var b = m.ReadBytes(at, chunk);
            var nul = Array.IndexOf(b, (byte)0);
            bytes.AddRange(nul >= 0 ? b[..nul] : b);
            if (nul >= 0)
                break;
            at += (ulong)chunk;
        }
        return System.Text.Encoding.Latin1.GetString(bytes.ToArray());
    }

    /// <summary>The text symbols of the module at <paramref name="module"/>, or null when its kallsyms cannot be read.</summary>
    public static SymbolTable? Read(DumpedKernel kernel, ulong module, string name)
    {
        var l = kernel.Layout;
        if (l.Offset("module", "kallsyms") is not { } ks || l.Offset("mod_kallsyms", "symtab") is not { } symtabOff
            || l.Offset("mod_kallsyms", "num_symtab") is not { } numOff || l.Offset("mod_kallsyms", "strtab") is not { } strOff)
            return null;
        var m = kernel.Memory;
        try
        {
            var k = m.ReadPointer(module + ks);
            var count = m.ReadU32(k + numOff);
            if (count == 0 || count > MaxSymbols)
                return null;
            var symtab = m.ReadBytes(m.ReadPointer(k + symtabOff), (int)count * ElfSymSize);
            var strtab = m.ReadPointer(k + strOff);
            var list = new List<KernelSymbol>();
            var ends = new List<ulong>();
            for (var i = 0; i < (int)count; i++)
            {
                var sym = symtab.AsSpan(i * ElfSymSize, ElfSymSize);
                var type = sym[4] & 0xf; // STT_FUNC = 2
                var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(sym[8..]);
                if (type != 2 || value == 0)
                    continue;
                var nameAt = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(sym);
                var bind = sym[4] >> 4;
                var size = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(sym[16..]);
                list.Add(new KernelSymbol(ReadName(m, strtab + nameAt), value, bind == 0 ? 't' : 'T'));
                if (size != 0)
                    ends.Add(value + size);
            }
            // End markers give each function its size where no other function starts right after it.
            var starts = list.Select(s => s.Address).ToHashSet();
            foreach (var end in ends)
                if (starts.Add(end))
                    list.Add(new KernelSymbol("", end, 'e'));
            return list.Count == 0 ? null : new SymbolTable(list, $"module {name} kallsyms");
        }
        catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException)
        {
            return null;
        }
    }
}
