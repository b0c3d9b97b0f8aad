// Member offsets by a C-like path ("task_struct.se.sum_exec_runtime", "page.flags",
// "x.y[3].z"): descends through typedefs and into anonymous struct/union members the way the C
// compiler does, and reports bitfields in bits.
namespace Kdx.Kernel.Btf;

/// <summary>A resolved member path: where it lies from the start of the root type, and its type.</summary>
public readonly record struct BtfField(string Path, int Type, ulong BitOffset, uint BitfieldSize)
{
    public bool IsBitfield => BitfieldSize != 0;

    /// <summary>Byte offset of the member; for a bitfield, of the byte holding its first bit.</summary>
    public ulong ByteOffset => BitOffset / 8;
}

public sealed partial class BtfTypes
{
    /// <summary>Deepest nesting of anonymous members searched for a name.</summary>
    public const int MaxAnonymousDepth = 32;

    /// <summary>Resolves "root.member.member[index]..." where root names a struct, union or typedef.</summary>
    public BtfField Field(string path) =>
        TryField(path, out var field, out var problem) ? field : throw new KeyNotFoundException($"{Source}: {problem}");

    /// <summary>The byte offset of <paramref name="memberPath"/> inside <paramref name="typeName"/>, or null when either is unknown.</summary>
    public ulong? OffsetOf(string typeName, string memberPath) =>
        TryField(typeName + "." + memberPath, out var f, out _) ? f.ByteOffset : null;

    public bool TryField(string path, out BtfField field, out string problem)
    {
        field = default;
        var span = path.AsSpan();
        var rootEnd = span.IndexOfAny('.', '[');
        var rootName = rootEnd < 0 ? path : path[..rootEnd];
        if (FindDataType(rootName) is not { } root)
        {
            problem = $"no BTF type named '{rootName}'";
            return false;
        }
        var typeId = root.Id;
        ulong bits = 0;
        uint bitfield = 0;
        var pos = rootEnd < 0 ? path.Length : rootEnd;
        while (pos < path.Length)
        {
            if (bitfield != 0)
            {
                problem = $"'{path[..pos]}' is a bitfield and has no members";
                return false;
            }
            if (path[pos] == '.')
            {
                var end = path.IndexOfAny(['.', '['], pos + 1);
                if (end < 0)
                    end = path.Length;
                var name = path[(pos + 1)..end];
                var owner = Resolve(typeId);
                if (!owner.IsComposite)
                {
                    problem = $"'{path[..pos]}' is a {owner.Kind}, not a struct or union";
                    return false;
                }
                if (!FindMember(owner, name, 0, out var member, out var memberBits))
                {
                    problem = $"{owner.Kind.ToString().ToLowerInvariant()} '{owner.Name}' has no member '{name}'";
                    return false;
                }
                bits += memberBits;
                typeId = member.Type;
                bitfield = member.BitfieldSize;
                if (bitfield == 0 && !owner.KindFlag && Resolve(typeId) is { Kind: BtfKind.Int } i && IsIntBitfield(i))
                {
                    // Old-style BTF: the bitfield's width and extra bit offset live in the INT encoding.
                    bits += i.IntBitOffset;
                    bitfield = i.IntBits;
                }
                pos = end;
            }
            else
            {
                var close = path.IndexOf(']', pos);
                if (close < 0 || !ulong.TryParse(path.AsSpan(pos + 1, close - pos - 1), out var index))
                {
                    problem = $"bad array index in '{path}'";
                    return false;
                }
                var array = Resolve(typeId);
                if (array.Kind != BtfKind.Array)
                {
                    problem = $"'{path[..pos]}' is a {array.Kind}, not an array";
                    return false;
                }
                if (index >= array.Array.Count && array.Array.Count != 0) // count 0: flexible array member
                {
                    problem = $"index {index} outside '{path[..pos]}' of {array.Array.Count} elements";
                    return false;
                }
                var elementSize = SizeOf(array.Array.ElementType) ?? 0;
                var high = Math.BigMul(index, elementSize, out var bytes);
                var low = bytes << 3;
                if (high != 0 || bytes >> 61 != 0 || bits + low < bits)
                {
                    problem = $"index {index} of '{path[..pos]}' overflows";
                    return false;
                }
                bits += low;
                typeId = array.Array.ElementType;
                pos = close + 1;
            }
        }
        field = new BtfField(path, typeId, bits, bitfield);
        problem = "";
        return true;
    }

    private static bool IsIntBitfield(BtfType i) => i.IntBitOffset != 0 || i.IntBits != i.Size * 8;

    /// <summary>A named member of a struct/union, searching anonymous members in declaration order.</summary>
    private bool FindMember(BtfType owner, string name, int depth, out BtfMember member, out ulong bitOffset)
    {
        if (depth > MaxAnonymousDepth)
            Fail(Source, 0, $"BTF {owner}: anonymous members nested deeper than {MaxAnonymousDepth} (cycle?)");
        foreach (var m in owner.Members)
        {
            if (m.Name == name)
            {
                member = m;
                bitOffset = m.BitOffset;
                return true;
            }
        }
        foreach (var m in owner.Members)
        {
            if (!m.IsAnonymous)
                continue;
            var inner = Resolve(m.Type);
            if (inner.IsComposite && FindMember(inner, name, depth + 1, out member, out var innerBits))
            {
                bitOffset = m.BitOffset + innerBits;
                return true;
            }
        }
        member = default;
        bitOffset = 0;
        return false;
    }
}
