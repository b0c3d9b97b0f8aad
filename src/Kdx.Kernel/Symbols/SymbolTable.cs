// The kernel's symbol table, however it was obtained (kallsyms inside the dump, or a System.map):
// sorted by address for address → "name+0xoff/0xsize", indexed by name for name → address.
using System.Globalization;

namespace Kdx.Kernel.Symbols;

/// <summary>A kernel symbol; <see cref="Type"/> is nm's letter (T text, D data, R rodata, B bss, A absolute; lower case = local).</summary>
public readonly record struct KernelSymbol(string Name, ulong Address, char Type)
{
    public bool IsGlobal => char.IsUpper(Type);
}

/// <summary>Where an address falls: inside <see cref="Symbol"/> at <see cref="Offset"/>; <see cref="Size"/> is the distance to the next symbol.</summary>
public readonly record struct SymbolLocation(KernelSymbol Symbol, ulong Offset, ulong Size)
{
    /// <summary>The kernel's %pS form: <c>name+0xoff/0xsize</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Symbol.Name}+0x{Offset:x}/0x{Size:x}");
}

public sealed class SymbolTable
{
    private readonly KernelSymbol[] _byAddress;
    private readonly KernelSymbol[] _located; // the ones Resolve may answer with: not absolute
    private readonly ulong[] _addresses;      // of _located
    private readonly Lazy<NameIndex> _byName;

    /// <summary>Builds a table from symbols in any order; symbols at the same address keep their given order.</summary>
    public SymbolTable(IReadOnlyList<KernelSymbol> symbols, string source)
    {
        Source = source;
        var order = new int[symbols.Count];
        var keys = new ulong[symbols.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            keys[i] = symbols[i].Address;
        }
        // Sort indices by (address, original position) so aliases stay in table order.
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        _byAddress = new KernelSymbol[order.Length];
        var located = new List<KernelSymbol>(order.Length);
        for (var i = 0; i < order.Length; i++)
        {
            _byAddress[i] = symbols[order[i]];
            // Absolute symbols (per-CPU offsets under KALLSYMS_ABSOLUTE_PERCPU, linker constants) are not places in memory.
            if (_byAddress[i].Type is not ('A' or 'a'))
                located.Add(_byAddress[i]);
        }
        _located = [.. located];
        _addresses = new ulong[_located.Length];
        for (var i = 0; i < _located.Length; i++)
            _addresses[i] = _located[i].Address;
        _byName = new Lazy<NameIndex>(() => new NameIndex(_byAddress.Length, i => _byAddress[i].Name), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Where the symbols came from (kallsyms in a dump, a System.map path).</summary>
    public string Source { get; }

    /// <summary>All symbols, sorted by address.</summary>
    public IReadOnlyList<KernelSymbol> Symbols => _byAddress;

    public int Count => _byAddress.Length;

    /// <summary>The first symbol of that name in address order, preferring a global one.</summary>
    public KernelSymbol? Lookup(string name)
    {
        var idx = _byName.Value.Of(name);
        if (idx.IsEmpty)
            return null;
        foreach (var i in idx)
            if (_byAddress[i].IsGlobal)
                return _byAddress[i];
        return _byAddress[idx.First];
    }

    /// <summary>Every symbol of that name (static functions repeat across files).</summary>
    public IReadOnlyList<KernelSymbol> LookupAll(string name)
    {
        var list = new List<KernelSymbol>();
        foreach (var i in _byName.Value.Of(name))
            list.Add(_byAddress[i]);
        return list;
    }

    /// <summary>
    /// The symbol containing <paramref name="address"/>: the last one at or below it (the first of
    /// its aliases), sized up to the next higher symbol address. Absolute symbols are never
    /// answers. Null below the first symbol and at or past the last one, whose extent is unknown.
    /// </summary>
    public SymbolLocation? Resolve(ulong address)
    {
        var i = UpperBound(address) - 1;
        if (i < 0)
            return null;
        var start = _addresses[i];
        while (i > 0 && _addresses[i - 1] == start)
            i--;
        var next = UpperBound(start);
        if (next >= _addresses.Length)
            return null;
        return new SymbolLocation(_located[i], address - start, _addresses[next] - start);
    }

    /// <summary>Index of the first symbol whose address is above <paramref name="address"/>.</summary>
    private int UpperBound(ulong address)
    {
        int lo = 0, hi = _addresses.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (_addresses[mid] <= address)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}
