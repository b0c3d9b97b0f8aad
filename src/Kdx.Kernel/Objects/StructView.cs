// crash's `struct TYPE [ADDR]` from BTF alone: the layout of a struct/union (member offsets, C
// type names, bitfields, size), or an instance in the dump decoded member by member. A member
// whose page the dump level excluded reads "(page excluded from dump)" and the rest goes on.
using System.Globalization;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Objects;

public sealed record StructMember(string Name, string TypeName, ulong BitOffset, uint BitfieldSize, ulong Size, string? Value);

public sealed class StructView(BtfTypes btf, IKernelMemory? memory = null)
{
    public const string Excluded = "(page excluded from dump)";

    /// <summary>The struct/union named <paramref name="name"/>: its kind and name, size, and top-level members (anonymous ones inlined).</summary>
    public (string Title, ulong Size, IReadOnlyList<StructMember> Members) Describe(string name, ulong? address = null)
    {
        var type = btf.FindDataType(name) ?? throw new KeyNotFoundException($"no BTF type named '{name}'");
        var resolved = btf.Resolve(type.Id);
        if (!resolved.IsComposite)
            throw new KeyNotFoundException($"'{name}' is a {resolved.Kind}, not a struct or union");
        var members = new List<StructMember>();
        Collect(resolved, 0, address, members, 0);
        return ($"{resolved.Kind.ToString().ToLowerInvariant()} {resolved.Name}", resolved.Size, members);
    }

    private void Collect(BtfType owner, ulong baseBits, ulong? address, List<StructMember> into, int depth)
    {
        if (depth > BtfTypes.MaxAnonymousDepth)
            throw new DumpFormatException(btf.Source, 0, "anonymous members nested too deep");
        foreach (var m in owner.Members)
        {
            var bits = baseBits + m.BitOffset;
            var t = btf.Resolve(m.Type);
            if (m.IsAnonymous && t.IsComposite)
            {
                Collect(t, bits, address, into, depth + 1);
                continue;
            }
            var size = btf.SizeOf(m.Type) ?? 0;
            var value = address is { } a && memory is not null ? Value(m.Type, a + bits / 8, size, bits % 8, m.BitfieldSize) : null;
            into.Add(new StructMember(m.Name, TypeName(m.Type), bits, m.BitfieldSize, size, value));
        }
    }

    private string Value(int typeId, ulong vaddr, ulong size, ulong bitShift, uint bitfield)
    {
        try
        {
            var t = btf.Resolve(typeId);
            switch (t.Kind)
            {
                case BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 when size is 1 or 2 or 4 or 8:
                {
                    var bytes = memory!.ReadBytes(vaddr, bitfield != 0 ? (int)((bitShift + bitfield + 7) / 8) : (int)size);
                    ulong raw = 0;
                    for (var i = bytes.Length - 1; i >= 0; i--)
                        raw = raw << 8 | bytes[i];
                    if (bitfield != 0)
                        return ((raw >> (int)bitShift) & ((1UL << (int)bitfield) - 1)).ToString(CultureInfo.InvariantCulture);
                    var signed = t.Kind == BtfKind.Int ? t.IntEncoding.HasFlag(BtfIntEncoding.Signed) : t.KindFlag;
                    if (t.Kind == BtfKind.Int && t.IntEncoding.HasFlag(BtfIntEncoding.Bool))
                        return raw != 0 ? "true" : "false";
                    return signed ? SignExtend(raw, (int)size).ToString(CultureInfo.InvariantCulture) : raw.ToString(CultureInfo.InvariantCulture);
                }
                case BtfKind.Ptr:
                    return $"0x{memory!.ReadPointer(vaddr):x}";
                case BtfKind.Array when btf.Resolve(t.Array.ElementType) is { Kind: BtfKind.Int, Size: 1 }:
                    return $"\"{memory!.ReadCString(vaddr, (int)Math.Min(size, 256))}\"";
                default:
                    return $"<{size} bytes at 0x{vaddr:x}>";
            }
        }
        catch (PageNotInDumpException)
        {
            return Excluded;
        }
    }

    private static long SignExtend(ulong raw, int size) => size switch
    {
        1 => (sbyte)raw,
        2 => (short)raw,
        4 => (int)raw,
        _ => (long)raw,
    };

    /// <summary>A C-like name for a type ("unsigned int", "struct list_head", "char [16]", "void *").</summary>
    public string TypeName(int id)
    {
        var suffix = new StringBuilder();
        for (var hops = 0; hops < BtfTypes.MaxChain; hops++)
        {
            var t = btf[id];
            switch (t.Kind)
            {
                case BtfKind.Void:
                    return "void" + suffix;
                case BtfKind.Ptr:
                    suffix.Insert(0, " *");
                    id = t.Type;
                    continue;
                case BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag:
                    id = t.Type;
                    continue;
                case BtfKind.Array:
                    suffix.Append(CultureInfo.InvariantCulture, $" [{t.Array.Count}]");
                    id = t.Array.ElementType;
                    continue;
                case BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Fwd:
                {
                    var keyword = t.Kind switch
                    {
                        BtfKind.Struct => "struct",
                        BtfKind.Union => "union",
                        BtfKind.Fwd => t.KindFlag ? "union" : "struct",
                        _ => "enum",
                    };
                    return $"{keyword} {(t.Name.Length == 0 ? "{...}" : t.Name)}{suffix}";
                }
                case BtfKind.FuncProto:
                    return "func" + suffix;
                default:
                    return t.Name + suffix;
            }
        }
        return "?" + suffix;
    }
}
