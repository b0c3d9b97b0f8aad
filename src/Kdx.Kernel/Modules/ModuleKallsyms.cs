// A loaded module's own symbols, the ones /proc/kallsyms shows as "[module]": struct
// module.kallsyms points at a struct mod_kallsyms { Elf64_Sym *symtab; num_symtab; char *strtab; }
// (layouts from BTF; the entries are ELF's, decoded by ElfSymbolEntry). Function symbols only:
// they name code addresses (backtrace frames, disassembly).
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Modules;

public static class ModuleKallsyms
{
    /// <summary>Most symbols read from one module.</summary>
    public const int MaxSymbols = 1 << 18;

    /// <summary>Longest symbol name read.</summary>
    private const int MaxName = 128;

    /// <summary>The function symbols of <paramref name="module"/>, or null when its kallsyms is absent or unreadable.</summary>
    public static SymbolTable? Functions(DumpedKernel kernel, KernelModule module)
    {
        var o = kernel.Objects;
        if (!o.Has("module", "kallsyms") || !o.Has("mod_kallsyms", "symtab") || !o.Has("mod_kallsyms", "num_symtab") || !o.Has("mod_kallsyms", "strtab"))
            return null;
        try
        {
            var k = o.Pointer(module.Address, "module", "kallsyms");
            var count = o.Unsigned(k, "mod_kallsyms", "num_symtab");
            if (count == 0 || count > MaxSymbols)
                return null;
            var symtab = kernel.Memory.ReadBytes(o.Pointer(k, "mod_kallsyms", "symtab"), (int)count * ElfSymbolEntry.EntrySize);
            var strtab = o.Pointer(k, "mod_kallsyms", "strtab");
            var list = new List<KernelSymbol>();
            var ends = new List<ulong>();
            for (var i = 0; i < (int)count; i++)
            {
                var e = ElfSymbolEntry.At(symtab, i);
                if (!e.IsFunction || e.Value == 0)
                    continue;
                list.Add(new KernelSymbol(ReadName(kernel.Memory, strtab + e.NameOffset), e.Value, e.Bind == 0 ? 't' : 'T'));
                if (e.Size != 0)
                    ends.Add(e.Value + e.Size);
            }
            // End markers give each function its size where no other function starts right after it.
            var starts = list.Select(s => s.Address).ToHashSet();
            foreach (var end in ends)
                if (starts.Add(end))
                    list.Add(new KernelSymbol("", end, 'e'));
            return list.Count == 0 ? null : new SymbolTable(list, $"module {module.Name} kallsyms");
        }
        catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException)
        {
            return null;
        }
    }

    /// <summary>A NUL-terminated name of at most <see cref="MaxName"/> bytes, read without touching a page it does not need.</summary>
    private static string ReadName(IKernelMemory m, ulong at)
    {
        Span<byte> name = stackalloc byte[MaxName];
        var length = 0;
        while (length < MaxName)
        {
            var chunk = name.Slice(length, (int)Math.Min((ulong)(MaxName - length), 4096 - (at & 4095)));
            m.Read(at, chunk);
            if (chunk.IndexOf((byte)0) is var nul and >= 0)
                return KernelMemoryExtensions.DecodeCString(name[..(length + nul + 1)]);
            length += chunk.Length;
            at += (ulong)chunk.Length;
        }
        return KernelMemoryExtensions.DecodeCString(name);
    }
}
