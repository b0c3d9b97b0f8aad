// System.map ("ffffffff81000000 T _stext" per line), the link-time symbol list shipped with a
// kernel (Debian: in the -dbg package). Relocated by KERNELOFFSET for a KASLR dump.
using System.Globalization;
using Kdx.Dump;

namespace Kdx.Kernel.Symbols;

public static class SystemMap
{
    /// <summary>x86_64 __START_KERNEL_map: symbols at or above it move with KASLR; per-CPU offsets and absolutes below it do not.</summary>
    public const ulong KernelImageBase = 0xffffffff80000000;

    /// <summary>Most lines accepted (a distribution kernel has ~100k).</summary>
    public const int MaxSymbols = 4 << 20;

    public static SymbolTable Load(string path, ulong kernelOffset = 0)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, path, kernelOffset);
    }

    public static SymbolTable Parse(TextReader reader, string source, ulong kernelOffset = 0)
    {
        var symbols = new List<KernelSymbol>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            var s = line.AsSpan();
            var sp1 = s.IndexOf(' ');
            var sp2 = sp1 < 0 ? -1 : s[(sp1 + 1)..].IndexOf(' ');
            if (sp1 <= 0 || sp2 != 1 || sp1 + 3 >= s.Length
                || !ulong.TryParse(s[..sp1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var address))
                throw new DumpFormatException(source, lineNumber, $"line {lineNumber} is not 'address type name'");
            if (symbols.Count >= MaxSymbols)
                throw new DumpFormatException(source, lineNumber, $"more than {MaxSymbols} symbols");
            var type = s[sp1 + 1];
            var name = s[(sp1 + 3)..].Trim().ToString();
            if (address >= KernelImageBase && type is not ('A' or 'a'))
                address += kernelOffset;
            symbols.Add(new KernelSymbol(name, address, type));
        }
        return new SymbolTable(symbols, source);
    }
}
