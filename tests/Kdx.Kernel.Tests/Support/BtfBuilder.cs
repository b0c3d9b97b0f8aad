// Test scaffolding: writes BTF blobs type by type, following the kernel's uapi btf.h layout, so
// tests can state exactly what a blob holds (including malformed ones).
using System.Buffers.Binary;
using System.Text;
using Kdx.Kernel.Btf;

namespace Kdx.Kernel.Tests.Support;

public sealed class BtfBuilder
{
    private readonly MemoryStream _types = new();
    private readonly MemoryStream _strings = new();
    private readonly Dictionary<string, uint> _stringOffsets = new();
    private readonly int _firstId;
    private readonly uint _stringBase;
    private int _count;

    public BtfBuilder(BtfTypes? baseBtf = null, int baseStringLength = 0)
    {
        _firstId = baseBtf?.EndId ?? 1;
        _stringBase = (uint)baseStringLength;
        if (baseBtf is null)
            _strings.WriteByte(0); // offset 0: the empty name (split BTF reuses the base's)
        _stringOffsets[""] = 0;
    }

    public uint StringLength => (uint)_strings.Length;

    public uint Str(string s)
    {
        if (_stringOffsets.TryGetValue(s, out var off))
            return off;
        off = _stringBase + (uint)_strings.Length;
        _strings.Write(Encoding.UTF8.GetBytes(s));
        _strings.WriteByte(0);
        _stringOffsets[s] = off;
        return off;
    }

    private int Type(string name, BtfKind kind, int vlen, bool kindFlag, uint sizeOrType)
    {
        U32(Str(name));
        U32((uint)vlen | ((uint)kind << 24) | (kindFlag ? 1u << 31 : 0));
        U32(sizeOrType);
        return _firstId + _count++;
    }

    private void U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _types.Write(b);
    }

    public int Int(string name, uint size, uint bits, BtfIntEncoding encoding = BtfIntEncoding.None, uint bitOffset = 0)
    {
        var id = Type(name, BtfKind.Int, 0, false, size);
        U32(((uint)encoding << 24) | (bitOffset << 16) | bits);
        return id;
    }

    public int Ptr(int target) => Type("", BtfKind.Ptr, 0, false, (uint)target);
    public int Typedef(string name, int target) => Type(name, BtfKind.Typedef, 0, false, (uint)target);
    public int Const(int target) => Type("", BtfKind.Const, 0, false, (uint)target);
    public int Volatile(int target) => Type("", BtfKind.Volatile, 0, false, (uint)target);
    public int Restrict(int target) => Type("", BtfKind.Restrict, 0, false, (uint)target);
    public int TypeTag(string name, int target) => Type(name, BtfKind.TypeTag, 0, false, (uint)target);
    public int Fwd(string name, bool union = false) => Type(name, BtfKind.Fwd, 0, union, 0);
    public int Float(string name, uint size) => Type(name, BtfKind.Float, 0, false, size);
    public int Func(string name, int proto, BtfLinkage linkage = BtfLinkage.Global) => Type(name, BtfKind.Func, (int)linkage, false, (uint)proto);

    public int Array(int element, int index, uint count)
    {
        var id = Type("", BtfKind.Array, 0, false, 0);
        U32((uint)element);
        U32((uint)index);
        U32(count);
        return id;
    }

    /// <summary>Members as (name, type, bit offset, bitfield size); any bitfield size switches the record to kind_flag encoding.</summary>
    public int Struct(string name, uint size, params (string Name, int Type, uint BitOffset, uint Bits)[] members) =>
        Aggregate(BtfKind.Struct, name, size, members);

    public int Union(string name, uint size, params (string Name, int Type, uint BitOffset, uint Bits)[] members) =>
        Aggregate(BtfKind.Union, name, size, members);

    private int Aggregate(BtfKind kind, string name, uint size, (string Name, int Type, uint BitOffset, uint Bits)[] members)
    {
        var kindFlag = members.Any(m => m.Bits != 0);
        var id = Type(name, kind, members.Length, kindFlag, size);
        foreach (var m in members)
        {
            U32(Str(m.Name));
            U32((uint)m.Type);
            U32(kindFlag ? (m.Bits << 24) | m.BitOffset : m.BitOffset);
        }
        return id;
    }

    public int Enum(string name, uint size, bool signed, params (string Name, int Value)[] values)
    {
        var id = Type(name, BtfKind.Enum, values.Length, signed, size);
        foreach (var (n, v) in values)
        {
            U32(Str(n));
            U32((uint)v);
        }
        return id;
    }

    public int Enum64(string name, uint size, params (string Name, ulong Value)[] values)
    {
        var id = Type(name, BtfKind.Enum64, values.Length, false, size);
        foreach (var (n, v) in values)
        {
            U32(Str(n));
            U32((uint)v);
            U32((uint)(v >> 32));
        }
        return id;
    }

    public int FuncProto(int returnType, params (string Name, int Type)[] parameters)
    {
        var id = Type("", BtfKind.FuncProto, parameters.Length, false, (uint)returnType);
        foreach (var (n, t) in parameters)
        {
            U32(Str(n));
            U32((uint)t);
        }
        return id;
    }

    public int Var(string name, int type, BtfLinkage linkage)
    {
        var id = Type(name, BtfKind.Var, 0, false, (uint)type);
        U32((uint)linkage);
        return id;
    }

    public int DataSec(string name, uint size, params (int Type, uint Offset, uint Size)[] vars)
    {
        var id = Type(name, BtfKind.DataSec, vars.Length, false, size);
        foreach (var (t, o, s) in vars)
        {
            U32((uint)t);
            U32(o);
            U32(s);
        }
        return id;
    }

    public int DeclTag(string name, int type, int componentIndex)
    {
        var id = Type(name, BtfKind.DeclTag, 0, false, (uint)type);
        U32((uint)componentIndex);
        return id;
    }

    /// <summary>Raw words for malformed records.</summary>
    public void RawWords(params uint[] words)
    {
        foreach (var w in words)
            U32(w);
    }

    public byte[] Build()
    {
        var types = _types.ToArray();
        var strings = _strings.ToArray();
        var blob = new byte[24 + types.Length + strings.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, BtfTypes.Magic);
        blob[2] = 1; // version
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24); // hdr_len
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), 0); // type_off
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)types.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)types.Length); // str_off
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)strings.Length);
        types.CopyTo(blob, 24);
        strings.CopyTo(blob, 24 + types.Length);
        return blob;
    }
}
