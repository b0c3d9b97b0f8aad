// Finding BTF types by name and kind, and following typedef/modifier chains, with caps so that a
// hostile blob's reference cycles end in a DumpFormatException instead of a hang.
namespace Kdx.Kernel.Btf;

public sealed partial class BtfTypes
{
    /// <summary>Longest typedef/modifier/array chain followed before calling the blob cyclic.</summary>
    public const int MaxChain = 64;

    /// <summary>Size of a pointer in the dumped kernel (x86_64).</summary>
    public const uint PointerSize = 8;

    /// <summary>Every type with this name, the base's first, in id order.</summary>
    public IReadOnlyList<BtfType> FindAll(string name)
    {
        var result = Base is null ? [] : new List<BtfType>(Base.FindAll(name));
        foreach (var i in _byName.Value.Of(name))
            result.Add(_types[i]);
        return result;
    }

    /// <summary>The first type with this name and kind; for STRUCT/UNION a complete definition is preferred over none (FWD is its own kind).</summary>
    public BtfType? Find(string name, BtfKind kind)
    {
        if (Base?.Find(name, kind) is { } inBase)
            return inBase;
        foreach (var i in _byName.Value.Of(name))
            if (_types[i].Kind == kind)
                return _types[i];
        return null;
    }

    /// <summary>
    /// A named data type as C would see "struct x"/"union x"/"x": a STRUCT or UNION first, then a
    /// TYPEDEF, ENUM, INT or FLOAT of that name.
    /// </summary>
    public BtfType? FindDataType(string name)
    {
        foreach (var kind in (ReadOnlySpan<BtfKind>)[BtfKind.Struct, BtfKind.Union, BtfKind.Typedef, BtfKind.Enum, BtfKind.Enum64, BtfKind.Int, BtfKind.Float])
            if (Find(name, kind) is { } t)
                return t;
        return null;
    }

    /// <summary>Follows TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG to the underlying type.</summary>
    public BtfType Resolve(int id)
    {
        var t = this[id];
        for (var hops = 0; hops < MaxChain; hops++)
        {
            if (t.Kind is not (BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag))
                return t;
            t = this[t.Type];
        }
        return Fail<BtfType>(Source, 0, $"BTF type [{id}]: typedef/modifier chain longer than {MaxChain} (cycle?)");
    }

    /// <summary>
    /// The byte size of a type (typedefs and modifiers resolved, arrays multiplied out); null for
    /// types without a size (void, FWD, FUNC, FUNC_PROTO).
    /// </summary>
    public ulong? SizeOf(int id)
    {
        ulong multiplier = 1;
        for (var hops = 0; hops < MaxChain; hops++)
        {
            var t = Resolve(id);
            switch (t.Kind)
            {
                case BtfKind.Array:
                    multiplier = Multiply(multiplier, t.Array.Count, id);
                    id = t.Array.ElementType;
                    continue;
                case BtfKind.Ptr:
                    return multiplier * PointerSize;
                case BtfKind.Var:
                    id = t.Type;
                    continue;
                default:
                    if (!BtfType.HasSize(t.Kind))
                        return null;
                    return Multiply(multiplier, t.Size, id);
            }
        }
        return Fail<ulong?>(Source, 0, $"BTF type [{id}]: array nesting deeper than {MaxChain} (cycle?)");
    }

    private ulong Multiply(ulong a, ulong b, int id)
    {
        var high = Math.BigMul(a, b, out var low);
        return high == 0 ? low : Fail<ulong>(Source, 0, $"BTF type [{id}]: array size overflows 64 bits");
    }

    public ulong? SizeOf(BtfType type) => SizeOf(type.Id);

    /// <summary>The size of a named data type (see <see cref="FindDataType"/>), or null when absent.</summary>
    public ulong? SizeOf(string typeName) => FindDataType(typeName) is { } t ? SizeOf(t.Id) : null;

    /// <summary>The value of a named enumerator (e.g. NR_FREE_PAGES) in any ENUM/ENUM64, or null.</summary>
    public long? EnumeratorValue(string name)
    {
        for (var id = 1; id < EndId; id++)
        {
            var t = this[id];
            if (t.Kind is not (BtfKind.Enum or BtfKind.Enum64))
                continue;
            foreach (var e in t.Enumerators)
                if (e.Name == name)
                    return e.Value;
        }
        return null;
    }
}
