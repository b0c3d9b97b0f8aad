// Compares every type, member, enumerator, parameter and section entry of a parsed BTF with
// bpftool's raw dump of the same blob, and lists the differences.
using Kdx.Kernel.Btf;

namespace Kdx.Kernel.Tests.Support;

public static class BtfOracleComparison
{
    public static List<string> Differences(BtfTypes btf, BpftoolDump dump, int firstId)
    {
        var diffs = new List<string>();
        void Same(object expected, object actual, BpftoolDump.Type t, string what)
        {
            if (!Equals(expected, actual) && diffs.Count < 50)
                diffs.Add($"[{t.Id}] {what}: bpftool {expected}, kdx {actual} ({t.Line})");
        }

        var last = firstId - 1;
        foreach (var t in dump.Types.Values)
        {
            last = Math.Max(last, t.Id);
            if (!btf.Contains(t.Id))
            {
                diffs.Add($"[{t.Id}] missing");
                continue;
            }
            var k = btf[t.Id];
            Same(t.Kind, KindName(k.Kind), t, "kind");
            Same(t.Name == "(anon)" ? "" : t.Name, k.Name, t, "name");
            foreach (var (key, value) in t.Fields)
            {
                switch (key)
                {
                    case "size": Same(ulong.Parse(value), (ulong)k.Size, t, key); break;
                    case "type_id": Same(int.Parse(value), k.Kind == BtfKind.Array ? k.Array.ElementType : k.Type, t, key); break;
                    case "ret_type_id": Same(int.Parse(value), k.Type, t, key); break;
                    case "index_type_id": Same(int.Parse(value), k.Array.IndexType, t, key); break;
                    case "nr_elems": Same(uint.Parse(value), k.Array.Count, t, key); break;
                    case "vlen": Same(int.Parse(value), k.Vlen, t, key); break;
                    case "bits_offset": Same(int.Parse(value), (int)k.IntBitOffset, t, key); break;
                    case "nr_bits": Same(int.Parse(value), (int)k.IntBits, t, key); break;
                    case "component_idx": Same(int.Parse(value), k.ComponentIndex, t, key); break;
                    case "fwd_kind": Same(value == "union", k.KindFlag, t, key); break;
                    case "linkage": Same(value, k.Linkage.ToString().ToLowerInvariant(), t, key); break;
                    case "encoding" when k.Kind == BtfKind.Int:
                        Same(value, k.IntEncoding == BtfIntEncoding.None ? "(none)" : k.IntEncoding.ToString().ToUpperInvariant(), t, key);
                        break;
                    case "encoding": Same(value == "SIGNED", k.KindFlag, t, key); break;
                }
            }
            CompareEntries(t, k, Same);
        }
        if (last + 1 != btf.EndId)
            diffs.Add($"bpftool lists ids up to {last}, kdx up to {btf.EndId - 1}");
        return diffs;
    }

    private static void CompareEntries(BpftoolDump.Type t, BtfType k, Action<object, object, BpftoolDump.Type, string> same)
    {
        var count = k.Kind switch
        {
            BtfKind.Struct or BtfKind.Union => k.Members.Count,
            BtfKind.Enum or BtfKind.Enum64 => k.Enumerators.Count,
            BtfKind.FuncProto => k.Parameters.Count,
            BtfKind.DataSec => k.SectionVars.Count,
            _ => 0,
        };
        same(t.Entries.Count, count, t, "entry count");
        for (var i = 0; i < Math.Min(count, t.Entries.Count); i++)
        {
            var e = t.Entries[i];
            var name = e.Name == "(anon)" ? "" : e.Name;
            switch (k.Kind)
            {
                case BtfKind.Struct or BtfKind.Union:
                    var m = k.Members[i];
                    same(name, m.Name, t, $"member {i} name");
                    same(int.Parse(e.Fields["type_id"]), m.Type, t, $"member {i} type");
                    same(ulong.Parse(e.Fields["bits_offset"]), m.BitOffset, t, $"member {i} bits_offset");
                    same(e.Fields.TryGetValue("bitfield_size", out var bs) ? uint.Parse(bs) : 0u, m.BitfieldSize, t, $"member {i} bitfield_size");
                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                    var v = k.Enumerators[i];
                    same(name, v.Name, t, $"enumerator {i} name");
                    var text = e.Fields["val"].TrimEnd('U', 'L');
                    var expected = text.StartsWith('-') ? long.Parse(text) : (long)ulong.Parse(text);
                    same(expected, v.Value, t, $"enumerator {i} value");
                    break;
                case BtfKind.FuncProto:
                    same(name, k.Parameters[i].Name, t, $"parameter {i} name");
                    same(int.Parse(e.Fields["type_id"]), k.Parameters[i].Type, t, $"parameter {i} type");
                    break;
                case BtfKind.DataSec:
                    var sv = k.SectionVars[i];
                    same(int.Parse(e.Fields["type_id"]), sv.Type, t, $"var {i} type");
                    same(uint.Parse(e.Fields["offset"]), sv.Offset, t, $"var {i} offset");
                    same(uint.Parse(e.Fields["size"]), sv.Size, t, $"var {i} size");
                    break;
            }
        }
    }

    public static string KindName(BtfKind kind) => kind switch
    {
        BtfKind.FuncProto => "FUNC_PROTO",
        BtfKind.DataSec => "DATASEC",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        _ => kind.ToString().ToUpperInvariant(),
    };
}
