// Symbols from an ELF symbol table (a debug vmlinux given with --vmlinux, or a module), typed
// with nm's letters so they read like System.map, and moved by KERNELOFFSET for a KASLR dump.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Images;

namespace Kdx.Kernel.Symbols;

/// <summary>One Elf64_Sym: st_name, st_info (type in the low nibble, binding in the high), st_shndx, st_value, st_size.</summary>
public readonly record struct ElfSymbolEntry(uint NameOffset, byte Info, ushort SectionIndex, ulong Value, ulong Size)
{
    public const int EntrySize = 24;

    public int Type => Info & 0xf;
    public int Bind => Info >> 4;
    public bool IsFunction => Type == 2; // STT_FUNC

    /// <summary>Entry <paramref name="index"/> of a symbol table's bytes.</summary>
    public static ElfSymbolEntry At(ReadOnlySpan<byte> table, int index)
    {
        var e = table.Slice(index * EntrySize, EntrySize);
        return new(BinaryPrimitives.ReadUInt32LittleEndian(e), e[4], BinaryPrimitives.ReadUInt16LittleEndian(e[6..]),
            BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), BinaryPrimitives.ReadUInt64LittleEndian(e[16..]));
    }
}

public static class ElfSymbols
{
    private const uint ShtSymtab = 2, ShtNobits = 8;
    private const ulong ShfWrite = 0x1, ShfAlloc = 0x2, ShfExec = 0x4;
    private const ushort ShnUndef = 0, ShnAbs = 0xfff1, ShnCommon = 0xfff2;
    private const int SymbolSize = ElfSymbolEntry.EntrySize;

    /// <summary>The defined, named symbols of .symtab (sections, files and undefined references left out, as System.map does).</summary>
    public static SymbolTable Load(ElfImage image, ulong kernelOffset = 0)
    {
        var symtab = FindSymtab(image);
        if (symtab.Link >= image.Sections.Count)
            throw new DumpFormatException(image.Path, (long)symtab.Offset, $".symtab links to missing string table {symtab.Link}");
        var data = image.ReadSection(symtab, 1 << 30);
        var strings = image.ReadSection(image.Sections[(int)symtab.Link], 1 << 30);
        var count = data.Length / SymbolSize;
        if (count > SystemMap.MaxSymbols)
            throw new DumpFormatException(image.Path, (long)symtab.Offset, $".symtab has {count} symbols, over {SystemMap.MaxSymbols}");
        var symbols = new List<KernelSymbol>(count);
        for (var i = 1; i < count; i++) // entry 0 is the null symbol
        {
            var e = ElfSymbolEntry.At(data, i);
            var (nameOffset, shndx, value, type, bind) = (e.NameOffset, e.SectionIndex, e.Value, e.Type, e.Bind);
            if (type is 3 or 4 || shndx == ShnUndef || nameOffset == 0) // STT_SECTION, STT_FILE, undefined, unnamed
                continue;
            if (nameOffset >= strings.Length)
                throw new DumpFormatException(image.Path, (long)symtab.Offset + i * SymbolSize, $"symbol {i} name offset {nameOffset} outside the string table");
            var rest = strings.AsSpan((int)nameOffset);
            var end = rest.IndexOf((byte)0);
            var name = Encoding.UTF8.GetString(end >= 0 ? rest[..end] : rest);
            var letter = Letter(image, type, bind, shndx);
            if (value >= SystemMap.KernelImageBase && letter is not ('A' or 'a'))
                value += kernelOffset;
            symbols.Add(new KernelSymbol(name, value, letter));
        }
        return new SymbolTable(symbols, $"{image.Path}:.symtab");
    }

    private static ElfImage.Section FindSymtab(ElfImage image)
    {
        foreach (var s in image.Sections)
            if (s.Type == ShtSymtab)
                return s;
        throw new DumpFormatException(image.Path, 0, "no .symtab (a stripped image: use the -dbg package's vmlinux)");
    }

    /// <summary>nm's type letter: from the binding, then the section's flags; upper case for globals.</summary>
    private static char Letter(ElfImage image, int type, int bind, ushort shndx)
    {
        if (bind == 2) // STB_WEAK
            return type == 1 ? 'V' : 'W';
        if (type == 10) // STT_GNU_IFUNC
            return 'i';
        char c;
        if (shndx == ShnAbs)
            c = 'a';
        else if (shndx == ShnCommon)
            c = 'c';
        else if (shndx >= image.Sections.Count)
            c = '?';
        else
        {
            var s = image.Sections[shndx];
            c = (s.Flags & ShfExec) != 0 ? 't'
                : s.Type == ShtNobits ? 'b'
                : (s.Flags & ShfAlloc) == 0 ? (s.Name.StartsWith(".debug", StringComparison.Ordinal) ? 'N' : 'n')
                : (s.Flags & ShfWrite) != 0 ? 'd'
                : 'r';
        }
        return bind switch
        {
            1 => char.ToUpperInvariant(c), // STB_GLOBAL
            10 => 'u',                     // STB_GNU_UNIQUE
            _ => c,
        };
    }
}
