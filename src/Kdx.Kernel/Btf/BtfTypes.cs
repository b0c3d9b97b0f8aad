// A parsed BTF blob (vmlinux's, or a module's split BTF on top of it): every record is validated
// and decoded once at load, so later lookups never read outside the blob.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Kdx.Dump;

namespace Kdx.Kernel.Btf;

public sealed partial class BtfTypes
{
    public const ushort Magic = 0xeB9F;
    private const int HeaderMinLength = 24;
    private const int TypeRecordLength = 12;

    /// <summary>Highest type id BTF can express (BTF_MAX_TYPE).</summary>
    public const int MaxTypeId = 0x000fffff;

    /// <summary>Largest blob accepted (vmlinux BTF is ~5 MB; leave room for big configs).</summary>
    public const int MaxBlobLength = 256 << 20;

    private readonly BtfType[] _types; // own types; index 0 is this blob's first id
    private readonly byte[] _strings;
    private readonly Lazy<NameIndex> _byName; // over _types: position i is type id FirstId + i

    private BtfTypes(string source, BtfTypes? baseBtf, BtfType[] types, byte[] strings)
    {
        Source = source;
        Base = baseBtf;
        _types = types;
        _strings = strings;
        _byName = new Lazy<NameIndex>(() => new NameIndex(_types.Length, i => _types[i].Name), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Where the blob came from (file, section or memory range), for error messages.</summary>
    public string Source { get; }

    /// <summary>The base BTF for split BTF (a module's), else null.</summary>
    public BtfTypes? Base { get; }

    /// <summary>First type id defined by this blob (1 for base BTF).</summary>
    public int FirstId => Base is null ? 1 : Base.EndId;

    /// <summary>One past the last type id (the total count including void and the base's types).</summary>
    public int EndId => FirstId + _types.Length;

    /// <summary>Types defined by this blob itself (not the base's).</summary>
    public IReadOnlyList<BtfType> OwnTypes => _types;

    private int StringBase => Base is null ? 0 : Base.StringEnd;
    private int StringEnd => StringBase + _strings.Length;

    private static readonly BtfType VoidType = new(0, BtfKind.Void, "void", false, 0, 0);

    /// <summary>The type with this id (0 is void), looking into the base for its ids.</summary>
    public BtfType this[int id]
    {
        get
        {
            if (id == 0)
                return VoidType;
            if (id >= FirstId && id < EndId)
                return _types[id - FirstId];
            if (Base is not null && id > 0 && id < FirstId)
                return Base[id];
            throw new ArgumentOutOfRangeException(nameof(id), id, $"{Source}: no BTF type id {id}");
        }
    }

    public bool Contains(int id) => id >= 0 && id < EndId;

    /// <summary>Parses a raw BTF blob; <paramref name="baseBtf"/> makes it split BTF continuing the base's ids and strings.</summary>
    public static BtfTypes Parse(ReadOnlySpan<byte> blob, string source = "BTF", BtfTypes? baseBtf = null)
    {
        if (blob.Length > MaxBlobLength)
            Fail(source, 0, $"BTF blob of {blob.Length} bytes exceeds the {MaxBlobLength}-byte limit");
        if (blob.Length < HeaderMinLength)
            Fail(source, 0, $"BTF blob of {blob.Length} bytes is shorter than its header");
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(blob);
        bool bigEndian;
        if (magic == Magic)
            bigEndian = false;
        else if (BinaryPrimitives.ReverseEndianness(magic) == Magic)
            bigEndian = true;
        else
            return Fail(source, 0, $"bad BTF magic 0x{magic:x4}");
        var r = new Reader(blob, bigEndian);
        if (blob[2] != 1)
            Fail(source, 2, $"unsupported BTF version {blob[2]}");
        var hdrLen = r.U32(4);
        var typeOff = r.U32(8);
        var typeLen = r.U32(12);
        var strOff = r.U32(16);
        var strLen = r.U32(20);
        if (hdrLen < HeaderMinLength || hdrLen > (uint)blob.Length)
            Fail(source, 4, $"BTF header length {hdrLen} outside 24..{blob.Length}");
        var body = (ulong)blob.Length - hdrLen;
        if ((ulong)typeOff + typeLen > body)
            Fail(source, 8, $"BTF type section {typeOff}+{typeLen} runs past the blob end");
        if ((ulong)strOff + strLen > body)
            Fail(source, 16, $"BTF string section {strOff}+{strLen} runs past the blob end");
        if (typeOff % 4 != 0)
            Fail(source, 8, $"BTF type section offset {typeOff} is not 4-byte aligned");
        var typeStart = (int)(hdrLen + typeOff);
        var strStart = (int)(hdrLen + strOff);
        var types = blob.Slice(typeStart, (int)typeLen);
        var strings = blob.Slice(strStart, (int)strLen).ToArray();
        if (strings.Length > 0 && strings[^1] != 0)
            Fail(source, strStart + strings.Length - 1, "BTF string section does not end with NUL");
        if (baseBtf is null && (strings.Length == 0 || strings[0] != 0))
            Fail(source, strStart, "BTF string section does not start with an empty string");

        var parser = new RecordParser(source, baseBtf, strings, typeStart, bigEndian);
        var parsed = parser.ParseAll(types);
        var btf = new BtfTypes(source, baseBtf, parsed, strings);
        btf.CheckReferences(typeStart, parser.RecordOffsets);
        return btf;
    }

    /// <summary>The string at a BTF name offset (split BTF: offsets past the base's strings are ours).</summary>
    public string String(uint offset) =>
        TryString(offset, out var s) ? s : Fail<string>(Source, 0, $"BTF string offset {offset} outside the string sections");

    private bool TryString(uint offset, [NotNullWhen(true)] out string? value)
    {
        if (offset < (uint)StringBase)
            return Base!.TryString(offset, out value);
        var local = offset - (uint)StringBase;
        if (local >= (uint)_strings.Length)
        {
            value = null;
            return false;
        }
        var rest = _strings.AsSpan((int)local);
        var end = rest.IndexOf((byte)0);
        value = Encoding.UTF8.GetString(rest[..end]); // the section ends with NUL (checked at load)
        return true;
    }

    /// <summary>Every referenced type id must exist; done after all records are read because references go forward too.</summary>
    private void CheckReferences(int typeStart, int[] recordOffsets)
    {
        for (var i = 0; i < _types.Length; i++)
        {
            var t = _types[i];
            var at = typeStart + recordOffsets[i];
            switch (t.Kind)
            {
                case BtfKind.Ptr or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.Func or BtfKind.FuncProto or BtfKind.Var or BtfKind.DeclTag or BtfKind.TypeTag:
                    CheckReference(t, t.Type, "type", at);
                    break;
                case BtfKind.Array:
                    CheckReference(t, t.Array.ElementType, "element type", at);
                    CheckReference(t, t.Array.IndexType, "index type", at);
                    break;
            }
            for (var m = 0; m < t.Members.Count; m++)
                CheckReference(t, t.Members[m].Type, "member", at);
            for (var p = 0; p < t.Parameters.Count; p++)
                CheckReference(t, t.Parameters[p].Type, "parameter", at);
            for (var v = 0; v < t.SectionVars.Count; v++)
                CheckReference(t, t.SectionVars[v].Type, "section variable", at);
        }
    }

    private void CheckReference(BtfType t, int id, string what, int at)
    {
        if ((uint)id >= (uint)EndId)
            Fail(Source, at, $"BTF type [{t.Id}] {t.Kind}: {what} refers to missing type id {id}");
    }

    [DoesNotReturn]
    internal static BtfTypes Fail(string source, long offset, string problem) => throw new DumpFormatException(source, offset, problem);

    [DoesNotReturn]
    internal static T Fail<T>(string source, long offset, string problem) => throw new DumpFormatException(source, offset, problem);

    /// <summary>Endian-aware fixed-width reads over the blob.</summary>
    private readonly ref struct Reader(ReadOnlySpan<byte> data, bool bigEndian)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public uint U32(int offset) => bigEndian
            ? BinaryPrimitives.ReadUInt32BigEndian(_data[offset..])
            : BinaryPrimitives.ReadUInt32LittleEndian(_data[offset..]);
    }

    /// <summary>Walks the type section record by record, checking every length before reading it.</summary>
    private sealed class RecordParser(string source, BtfTypes? baseBtf, byte[] strings, int sectionStart, bool bigEndian)
    {
        private readonly List<int> _offsets = [];
        private readonly int _stringBase = baseBtf?.StringEnd ?? 0;
        private readonly int _firstId = baseBtf?.EndId ?? 1;

        public int[] RecordOffsets => [.. _offsets];

        public BtfType[] ParseAll(ReadOnlySpan<byte> section)
        {
            var list = new List<BtfType>();
            var pos = 0;
            while (pos < section.Length)
            {
                var id = _firstId + list.Count;
                if (id > MaxTypeId)
                    Fail(source, sectionStart + pos, $"more than {MaxTypeId} BTF types");
                _offsets.Add(pos);
                list.Add(ParseOne(section, ref pos, id));
            }
            return [.. list];
        }

        private uint U32(ReadOnlySpan<byte> s, int offset) => new Reader(s, bigEndian).U32(offset);

        private void Need(ReadOnlySpan<byte> section, int pos, long length, string what)
        {
            if (pos + length > section.Length)
                Fail(source, sectionStart + pos, $"BTF {what} of {length} bytes runs past the type section end");
        }

        private string Name(uint offset, int pos)
        {
            if (offset == 0)
                return "";
            string? name;
            if (offset < (uint)_stringBase)
            {
                if (!baseBtf!.TryString(offset, out name))
                    Fail(source, sectionStart + pos, $"BTF name offset {offset} outside the base string section");
            }
            else
            {
                var local = offset - (uint)_stringBase;
                if (local >= (uint)strings.Length)
                    return Fail<string>(source, sectionStart + pos, $"BTF name offset {offset} outside the string section");
                var rest = strings.AsSpan((int)local);
                name = Encoding.UTF8.GetString(rest[..rest.IndexOf((byte)0)]);
            }
            return name;
        }

        private BtfType ParseOne(ReadOnlySpan<byte> s, ref int pos, int id)
        {
            Need(s, pos, TypeRecordLength, "type record");
            var at = pos;
            var nameOff = U32(s, pos);
            var info = U32(s, pos + 4);
            var sizeOrType = U32(s, pos + 8);
            pos += TypeRecordLength;
            var vlen = (int)(info & 0xffff);
            var rawKind = (info >> 24) & 0x1f;
            var kindFlag = (info >> 31) != 0;
            if (rawKind == 0 || rawKind > (uint)BtfKind.Enum64)
                Fail(source, sectionStart + at, $"BTF type [{id}] has unknown kind {rawKind}");
            var kind = (BtfKind)rawKind;
            var name = Name(nameOff, at);

            switch (kind)
            {
                case BtfKind.Int:
                {
                    Need(s, pos, 4, "INT encoding");
                    var enc = U32(s, pos);
                    pos += 4;
                    var bits = (byte)(enc & 0xff);
                    var bitOffset = (byte)((enc >> 16) & 0xff);
                    if (bits > 128 || (ulong)bitOffset + bits > sizeOrType * 8UL)
                        Fail(source, sectionStart + at, $"BTF INT [{id}] has {bits} bits at bit {bitOffset} in {sizeOrType} bytes");
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType)
                    {
                        IntEncoding = (BtfIntEncoding)((enc >> 24) & 0xf),
                        IntBitOffset = bitOffset,
                        IntBits = bits,
                    };
                }
                case BtfKind.Array:
                {
                    Need(s, pos, 12, "ARRAY");
                    var array = new BtfArray((int)U32(s, pos), (int)U32(s, pos + 4), U32(s, pos + 8));
                    pos += 12;
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Array = array };
                }
                case BtfKind.Struct or BtfKind.Union:
                {
                    Need(s, pos, 12L * vlen, "member list");
                    var members = vlen == 0 ? [] : new BtfMember[vlen];
                    for (var i = 0; i < vlen; i++, pos += 12)
                    {
                        var offset = U32(s, pos + 8);
                        members[i] = kindFlag
                            ? new BtfMember(Name(U32(s, pos), pos), (int)U32(s, pos + 4), offset & 0xffffff, offset >> 24)
                            : new BtfMember(Name(U32(s, pos), pos), (int)U32(s, pos + 4), offset, 0);
                    }
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Members = members };
                }
                case BtfKind.Enum:
                {
                    Need(s, pos, 8L * vlen, "enumerator list");
                    var values = vlen == 0 ? [] : new BtfEnumerator[vlen];
                    for (var i = 0; i < vlen; i++, pos += 8)
                    {
                        var raw = U32(s, pos + 4);
                        values[i] = new BtfEnumerator(Name(U32(s, pos), pos), kindFlag ? (int)raw : raw);
                    }
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Enumerators = values };
                }
                case BtfKind.Enum64:
                {
                    Need(s, pos, 12L * vlen, "enumerator list");
                    var values = vlen == 0 ? [] : new BtfEnumerator[vlen];
                    for (var i = 0; i < vlen; i++, pos += 12)
                    {
                        var value = (long)(U32(s, pos + 4) | ((ulong)U32(s, pos + 8) << 32));
                        values[i] = new BtfEnumerator(Name(U32(s, pos), pos), value);
                    }
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Enumerators = values };
                }
                case BtfKind.FuncProto:
                {
                    Need(s, pos, 8L * vlen, "parameter list");
                    var parameters = vlen == 0 ? [] : new BtfParam[vlen];
                    for (var i = 0; i < vlen; i++, pos += 8)
                        parameters[i] = new BtfParam(Name(U32(s, pos), pos), (int)U32(s, pos + 4));
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Parameters = parameters };
                }
                case BtfKind.Var:
                {
                    Need(s, pos, 4, "VAR linkage");
                    var linkage = (BtfLinkage)U32(s, pos);
                    pos += 4;
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Linkage = linkage };
                }
                case BtfKind.DataSec:
                {
                    Need(s, pos, 12L * vlen, "DATASEC entries");
                    var vars = vlen == 0 ? [] : new BtfSectionVar[vlen];
                    for (var i = 0; i < vlen; i++, pos += 12)
                        vars[i] = new BtfSectionVar((int)U32(s, pos), U32(s, pos + 4), U32(s, pos + 8));
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { SectionVars = vars };
                }
                case BtfKind.DeclTag:
                {
                    Need(s, pos, 4, "DECL_TAG component index");
                    var component = (int)U32(s, pos);
                    pos += 4;
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { ComponentIndex = component };
                }
                case BtfKind.Func:
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType) { Linkage = (BtfLinkage)vlen };
                default: // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FLOAT, TYPE_TAG: no extra data
                    return new BtfType(id, kind, name, kindFlag, vlen, sizeOrType);
            }
        }
    }
}
