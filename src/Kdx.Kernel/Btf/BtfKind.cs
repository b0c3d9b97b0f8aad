// BTF kinds and small encodings, numbered as in the kernel's include/uapi/linux/btf.h.
namespace Kdx.Kernel.Btf;

public enum BtfKind : byte
{
    /// <summary>Type id 0: void. Never appears as a record in a blob.</summary>
    Void = 0,
    Int = 1,
    Ptr = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    DataSec = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

/// <summary>BTF_INT_ENCODING bits of an INT type.</summary>
[Flags]
public enum BtfIntEncoding : byte
{
    None = 0,
    Signed = 1,
    Char = 2,
    Bool = 4,
}

/// <summary>Linkage of a FUNC (in vlen) or VAR (in its extra word).</summary>
public enum BtfLinkage : uint
{
    Static = 0,
    Global = 1,
    Extern = 2,
}

/// <summary>A struct/union member: bit offset from the start of the aggregate, and a width for bitfields.</summary>
public readonly record struct BtfMember(string Name, int Type, ulong BitOffset, uint BitfieldSize)
{
    public bool IsAnonymous => Name.Length == 0;
}

/// <summary>An ENUM or ENUM64 enumerator; <see cref="Value"/> holds the 64 raw bits (read as unsigned for unsigned enums).</summary>
public readonly record struct BtfEnumerator(string Name, long Value);

/// <summary>A FUNC_PROTO parameter (an unnamed trailing void parameter marks varargs).</summary>
public readonly record struct BtfParam(string Name, int Type);

/// <summary>A DATASEC entry: a VAR (or FUNC) at an offset inside the section.</summary>
public readonly record struct BtfSectionVar(int Type, uint Offset, uint Size);

/// <summary>ARRAY details.</summary>
public readonly record struct BtfArray(int ElementType, int IndexType, uint Count);
