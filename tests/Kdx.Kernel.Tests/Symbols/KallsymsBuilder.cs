// Test scaffolding: lays out kallsyms tables the way scripts/kallsyms.c emits them (token table
// and index, length-prefixed token-compressed names, s32 offsets or absolute addresses) in a
// SparseMemory, plus the VMCOREINFO lines that point at them.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Symbols;

public static class KallsymsBuilder
{
    public const ulong Tables = 0xffffffff82100000;

    /// <summary>Builds memory and VMCOREINFO for <paramref name="symbols"/> (in table order) in the given encoding.</summary>
    public static (SparseMemory Memory, VmcoreInfo Info) Build(IReadOnlyList<KernelSymbol> symbols, KallsymsAddressing addressing,
        ulong relativeBase, ulong? stextOverride = null)
    {
        var tokens = BuildTokens(symbols);
        var names = new MemoryStream();
        foreach (var s in symbols)
        {
            var encoded = Encode(s.Type + s.Name, tokens);
            if (encoded.Count < 0x80)
                names.WriteByte((byte)encoded.Count);
            else
            {
                names.WriteByte((byte)(0x80 | (encoded.Count & 0x7f)));
                names.WriteByte((byte)(encoded.Count >> 7));
            }
            foreach (var t in encoded)
                names.WriteByte(t);
        }

        var memory = new SparseMemory();
        var at = Tables;
        ulong Place(byte[] bytes)
        {
            // Whole pages, as a dump holds them, with an unmapped page after each table.
            var here = at;
            var pages = new byte[(bytes.Length + 0xfff) & ~0xfff];
            bytes.CopyTo(pages, 0);
            memory.Map(here, pages);
            at = here + (ulong)pages.Length + 0x1000;
            return here;
        }

        var vi = new StringBuilder("OSRELEASE=test\n");
        if (addressing == KallsymsAddressing.Absolute)
        {
            var addrs = new byte[symbols.Count * 8];
            for (var i = 0; i < symbols.Count; i++)
                BinaryPrimitives.WriteUInt64LittleEndian(addrs.AsSpan(i * 8), symbols[i].Address);
            vi.Append($"SYMBOL(kallsyms_addresses)={Place(addrs):x}\n");
        }
        else
        {
            var offsets = new byte[symbols.Count * 4];
            var offsetsAt = at;
            for (var i = 0; i < symbols.Count; i++)
            {
                var a = symbols[i].Address;
                var value = addressing switch
                {
                    KallsymsAddressing.BaseRelative => (int)(uint)(a - relativeBase),
                    KallsymsAddressing.AbsolutePercpu => a < 0x1_0000_0000 ? (int)a : (int)(relativeBase - 1 - a),
                    _ => (int)(long)(a - (offsetsAt + (ulong)i * 4)),
                };
                BinaryPrimitives.WriteInt32LittleEndian(offsets.AsSpan(i * 4), value);
            }
            vi.Append($"SYMBOL(kallsyms_offsets)={Place(offsets):x}\n");
            if (addressing != KallsymsAddressing.PlaceRelative)
            {
                var rb = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(rb, relativeBase);
                vi.Append($"SYMBOL(kallsyms_relative_base)={Place(rb):x}\n");
            }
        }
        var count = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(count, (uint)symbols.Count);
        vi.Append($"SYMBOL(kallsyms_num_syms)={Place(count):x}\n");
        vi.Append($"SYMBOL(kallsyms_names)={Place(names.ToArray()):x}\n");
        var table = new MemoryStream();
        var index = new byte[512];
        for (var i = 0; i < 256; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(index.AsSpan(i * 2), (ushort)table.Length);
            table.Write(Encoding.Latin1.GetBytes(tokens[i]));
            table.WriteByte(0);
        }
        vi.Append($"SYMBOL(kallsyms_token_table)={Place(table.ToArray()):x}\n");
        vi.Append($"SYMBOL(kallsyms_token_index)={Place(index):x}\n");
        var stext = stextOverride ?? symbols.First(s => s.Name == "_stext").Address;
        vi.Append($"SYMBOL(_stext)={stext:x}\n");
        return (memory, VmcoreInfo.Parse(vi.ToString()));
    }

    /// <summary>Single characters for everything that occurs, the rest of the 256 slots for frequent pairs.</summary>
    private static string[] BuildTokens(IReadOnlyList<KernelSymbol> symbols)
    {
        var chars = new SortedSet<char>();
        var pairs = new Dictionary<string, int>();
        foreach (var s in symbols)
        {
            var text = s.Type + s.Name;
            foreach (var c in text)
                chars.Add(c);
            for (var i = 0; i + 1 < text.Length; i++)
                pairs[text.Substring(i, 2)] = pairs.GetValueOrDefault(text.Substring(i, 2)) + 1;
        }
        var tokens = new List<string>(chars.Select(c => c.ToString()));
        tokens.AddRange(pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key).Take(256 - tokens.Count));
        while (tokens.Count < 256)
            tokens.Add("\u00ff" + tokens.Count); // unused filler
        return [.. tokens];
    }

    private static List<byte> Encode(string text, string[] tokens)
    {
        var result = new List<byte>();
        for (var i = 0; i < text.Length;)
        {
            var pair = i + 1 < text.Length ? Array.IndexOf(tokens, text.Substring(i, 2)) : -1;
            if (pair >= 0)
            {
                result.Add((byte)pair);
                i += 2;
            }
            else
            {
                result.Add((byte)Array.IndexOf(tokens, text[i].ToString()));
                i++;
            }
        }
        return result;
    }
}
