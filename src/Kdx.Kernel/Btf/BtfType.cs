// One BTF type record, decoded. Which properties are meaningful depends on Kind; the others are
// empty or zero. Type ids refer to the Btf that owns the record (split BTF ids continue the base's).
namespace Kdx.Kernel.Btf;

public sealed class BtfType
{
    internal BtfType(int id, BtfKind kind, string name, bool kindFlag, int vlen, uint sizeOrType)
    {
        Id = id;
        Kind = kind;
        Name = name;
        KindFlag = kindFlag;
        Vlen = vlen;
        SizeOrType = sizeOrType;
    }

    public int Id { get; }
    public BtfKind Kind { get; }

    /// <summary>The type's name; empty for anonymous types.</summary>
    public string Name { get; }

    /// <summary>kind_flag: bitfield-encoded member offsets (struct/union), union FWD, signed enum, attribute tag.</summary>
    public bool KindFlag { get; }

    /// <summary>vlen: member/enumerator/parameter count (FUNC: linkage).</summary>
    public int Vlen { get; }

    /// <summary>The raw size/type word of the record.</summary>
    public uint SizeOrType { get; }

    /// <summary>Byte size of INT, STRUCT, UNION, ENUM, ENUM64, FLOAT and DATASEC; 0 for other kinds.</summary>
    public uint Size => HasSize(Kind) ? SizeOrType : 0;

    /// <summary>Referenced type of PTR, TYPEDEF, modifiers, FUNC, FUNC_PROTO (return), VAR, DECL_TAG, TYPE_TAG; 0 otherwise.</summary>
    public int Type => HasSize(Kind) || Kind is BtfKind.Array or BtfKind.Fwd or BtfKind.Void ? 0 : (int)SizeOrType;

    public BtfIntEncoding IntEncoding { get; internal init; }
    public byte IntBitOffset { get; internal init; }
    public byte IntBits { get; internal init; }

    public BtfArray Array { get; internal init; }
    public IReadOnlyList<BtfMember> Members { get; internal init; } = [];
    public IReadOnlyList<BtfEnumerator> Enumerators { get; internal init; } = [];
    public IReadOnlyList<BtfParam> Parameters { get; internal init; } = [];
    public IReadOnlyList<BtfSectionVar> SectionVars { get; internal init; } = [];

    /// <summary>VAR: its linkage word; FUNC: vlen as linkage.</summary>
    public BtfLinkage Linkage { get; internal init; }

    /// <summary>DECL_TAG: the member/parameter index the tag applies to, or -1 for the whole declaration.</summary>
    public int ComponentIndex { get; internal init; }

    public bool IsComposite => Kind is BtfKind.Struct or BtfKind.Union;

    internal static bool HasSize(BtfKind kind) =>
        kind is BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64
            or BtfKind.Float or BtfKind.DataSec;

    public override string ToString() => $"[{Id}] {Kind} '{(Name.Length == 0 ? "(anon)" : Name)}'";
}
