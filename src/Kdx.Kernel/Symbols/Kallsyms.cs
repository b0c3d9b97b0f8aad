// Decodes the kernel's own compressed symbol table (kallsyms) out of a dump, located through the
// VMCOREINFO SYMBOL(kallsyms_*) entries: no System.map or debuginfo needed.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Symbols;

/// <summary>How kallsyms stores addresses; the kernel's configuration and version decide.</summary>
public enum KallsymsAddressing
{
    /// <summary>kallsyms_addresses[]: full unsigned longs (before 6.11, without KALLSYMS_BASE_RELATIVE).</summary>
    Absolute,
    /// <summary>relative_base + (u32)kallsyms_offsets[i].</summary>
    BaseRelative,
    /// <summary>KALLSYMS_ABSOLUTE_PERCPU: offset ≥ 0 is an absolute per-CPU address, else relative_base - 1 - offset.</summary>
    AbsolutePercpu,
    /// <summary>&amp;kallsyms_offsets[i] + (s32)kallsyms_offsets[i] (newest kernels, no relative_base).</summary>
    PlaceRelative,
}

public static class Kallsyms
{
    /// <summary>Most symbols accepted (a distribution kernel has ~200k with KALLSYMS_ALL).</summary>
    public const uint MaxSymbols = 4 << 20;

    /// <summary>Longest expanded name accepted (the kernel's KSYM_NAME_LEN is 512 since 6.1).</summary>
    public const int MaxNameLength = 1024;

    private const int TokenCount = 256;

    /// <summary>The decoded table and the address encoding that reproduced VMCOREINFO's _stext.</summary>
    public sealed record Result(SymbolTable Table, KallsymsAddressing Addressing);

    public static SymbolTable Read(IKernelMemory memory, VmcoreInfo vmcoreInfo) => Decode(memory, vmcoreInfo).Table;

    public static Result Decode(IKernelMemory memory, VmcoreInfo vmcoreInfo)
    {
        const string source = "kallsyms";
        var namesAt = Require(vmcoreInfo, "kallsyms_names");
        var countAt = Require(vmcoreInfo, "kallsyms_num_syms");
        var tokenTableAt = Require(vmcoreInfo, "kallsyms_token_table");
        var tokenIndexAt = Require(vmcoreInfo, "kallsyms_token_index");
        var offsetsAt = vmcoreInfo.Symbol("kallsyms_offsets");
        var addressesAt = vmcoreInfo.Symbol("kallsyms_addresses");
        var relativeBaseAt = vmcoreInfo.Symbol("kallsyms_relative_base");
        if (offsetsAt is null && addressesAt is null)
            throw new DumpFormatException(source, 0, "VMCOREINFO has neither SYMBOL(kallsyms_offsets) nor SYMBOL(kallsyms_addresses)");

        var count = memory.ReadU32(countAt);
        if (count == 0 || count > MaxSymbols)
            throw new DumpFormatException(source, (long)countAt, $"kallsyms_num_syms = {count} is outside 1..{MaxSymbols}");

        var tokens = ReadTokens(memory, tokenTableAt, tokenIndexAt);
        var names = ReadNames(memory, namesAt, count, tokens);

        var stext = vmcoreInfo.Symbol("_stext");
        var stextIndex = stext is null ? -1 : Array.IndexOf(names.Names, "_stext");
        ulong[] addresses;
        KallsymsAddressing addressing;
        if (offsetsAt is { } offAt)
        {
            var raw = memory.ReadBytes(offAt, checked((int)count * 4));
            var relativeBase = relativeBaseAt is { } rb ? memory.ReadU64(rb) : (ulong?)null;
            addressing = ChooseAddressing(raw, offAt, relativeBase, stext, stextIndex);
            addresses = new ulong[count];
            for (var i = 0; i < count; i++)
                addresses[i] = Address(addressing, raw, offAt, relativeBase ?? 0, i);
        }
        else
        {
            var raw = memory.ReadBytes(addressesAt!.Value, checked((int)count * 8));
            addresses = new ulong[count];
            for (var i = 0; i < count; i++)
                addresses[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
            addressing = KallsymsAddressing.Absolute;
            if (stext is { } s && stextIndex >= 0 && addresses[stextIndex] != s)
                throw new DumpFormatException(source, (long)addressesAt.Value,
                    $"kallsyms_addresses gives _stext = 0x{addresses[stextIndex]:x}, VMCOREINFO says 0x{s:x}");
        }

        var symbols = new KernelSymbol[count];
        for (var i = 0; i < count; i++)
            symbols[i] = new KernelSymbol(names.Names[i], addresses[i], names.Types[i]);
        return new Result(new SymbolTable(symbols, $"kallsyms at 0x{namesAt:x}"), addressing);
    }

    private static ulong Require(VmcoreInfo vi, string name) =>
        vi.Symbol(name) ?? throw new DumpFormatException("VMCOREINFO", 0, $"SYMBOL({name}) is missing (kernel older than 6.0, or not a kernel dump)");

    private static KallsymsAddressing ChooseAddressing(byte[] raw, ulong offsetsAt, ulong? relativeBase, ulong? stext, int stextIndex)
    {
        ReadOnlySpan<KallsymsAddressing> candidates = relativeBase is null
            ? [KallsymsAddressing.PlaceRelative]
            : [KallsymsAddressing.BaseRelative, KallsymsAddressing.AbsolutePercpu, KallsymsAddressing.PlaceRelative];
        if (stext is not { } want || stextIndex < 0)
        {
            // Nothing to check against: take the kernel's long-time default for the layout present.
            if (stext is not null)
                throw new DumpFormatException("kallsyms", (long)offsetsAt, "no symbol named _stext in kallsyms_names");
            return candidates[0];
        }
        var tried = new StringBuilder();
        foreach (var c in candidates)
        {
            var got = Address(c, raw, offsetsAt, relativeBase ?? 0, stextIndex);
            if (got == want)
                return c;
            tried.Append($" {c}=0x{got:x}");
        }
        throw new DumpFormatException("kallsyms", (long)offsetsAt,
            $"no offset encoding reproduces VMCOREINFO _stext 0x{want:x}:{tried}");
    }

    private static ulong Address(KallsymsAddressing addressing, byte[] raw, ulong offsetsAt, ulong relativeBase, int i)
    {
        var off = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 4));
        return addressing switch
        {
            KallsymsAddressing.BaseRelative => relativeBase + (uint)off,
            KallsymsAddressing.AbsolutePercpu => off >= 0 ? (ulong)off : relativeBase - 1 - (ulong)(long)off,
            KallsymsAddressing.PlaceRelative => offsetsAt + (ulong)i * 4 + (ulong)(long)off,
            _ => throw new ArgumentOutOfRangeException(nameof(addressing)),
        };
    }

    /// <summary>kallsyms_token_table: 256 NUL-terminated strings, located by kallsyms_token_index (u16 offsets).</summary>
    private static string[] ReadTokens(IKernelMemory memory, ulong tableAt, ulong indexAt)
    {
        var index = memory.ReadBytes(indexAt, TokenCount * 2);
        var offsets = new ushort[TokenCount];
        var maxOffset = 0;
        for (var i = 0; i < TokenCount; i++)
        {
            offsets[i] = BinaryPrimitives.ReadUInt16LittleEndian(index.AsSpan(i * 2));
            maxOffset = Math.Max(maxOffset, offsets[i]);
        }
        // The table's length is known only from its last token's NUL: read up to it, never past the page holding it.
        var reader = new SequentialReader(memory, tableAt);
        var table = new byte[maxOffset + 256];
        var length = 0;
        while (length < table.Length)
        {
            table[length] = reader.Next();
            if (length++ >= maxOffset && table[length - 1] == 0)
                break;
        }
        var tokens = new string[TokenCount];
        for (var i = 0; i < TokenCount; i++)
        {
            var rest = table.AsSpan(offsets[i]);
            var end = rest.IndexOf((byte)0);
            if (end < 0)
                throw new DumpFormatException("kallsyms", (long)(tableAt + offsets[i]), $"token {i} is not NUL-terminated within 256 bytes");
            tokens[i] = Encoding.Latin1.GetString(rest[..end]);
        }
        return tokens;
    }

    private sealed record NameList(string[] Names, char[] Types);

    /// <summary>
    /// kallsyms_names: per symbol a length (one byte, or two as ULEB128 when the first has its top
    /// bit set, kernels ≥ 6.1) then that many token indexes; the expansion's first char is the type.
    /// </summary>
    private static NameList ReadNames(IKernelMemory memory, ulong namesAt, uint count, string[] tokens)
    {
        var names = new string[count];
        var types = new char[count];
        var cursor = new SequentialReader(memory, namesAt);
        var sb = new StringBuilder(64);
        Span<byte> entry = stackalloc byte[0x7fff];
        for (var i = 0; i < count; i++)
        {
            int length = cursor.Next();
            if ((length & 0x80) != 0)
                length = (length & 0x7f) | (cursor.Next() << 7);
            if (length == 0)
                throw new DumpFormatException("kallsyms", (long)cursor.Position, $"symbol {i} has an empty name");
            var e = entry[..length];
            cursor.Fill(e);
            sb.Clear();
            foreach (var t in e)
            {
                sb.Append(tokens[t]);
                if (sb.Length > MaxNameLength + 1)
                    throw new DumpFormatException("kallsyms", (long)cursor.Position, $"symbol {i} expands past {MaxNameLength} characters");
            }
            if (sb.Length < 2)
                throw new DumpFormatException("kallsyms", (long)cursor.Position, $"symbol {i} expands to '{sb}' (no type and name)");
            types[i] = sb[0];
            names[i] = sb.ToString(1, sb.Length - 1);
        }
        return new NameList(names, types);
    }

    /// <summary>Buffered forward reads through IKernelMemory for a table whose length is known only by walking it.</summary>
    private sealed class SequentialReader(IKernelMemory memory, ulong start)
    {
        private const int ChunkSize = 64 << 10;
        private readonly byte[] _buffer = new byte[ChunkSize];
        private ulong _bufferAt = start;
        private int _length;
        private int _pos;

        public ulong Position => _bufferAt + (ulong)_pos;

        public byte Next()
        {
            if (_pos == _length)
                Refill();
            return _buffer[_pos++];
        }

        public void Fill(Span<byte> destination)
        {
            while (destination.Length > 0)
            {
                if (_pos == _length)
                    Refill();
                var n = Math.Min(destination.Length, _length - _pos);
                _buffer.AsSpan(_pos, n).CopyTo(destination);
                _pos += n;
                destination = destination[n..];
            }
        }

        private void Refill()
        {
            _bufferAt += (ulong)_length;
            // Stop a chunk at a page boundary so a read never spans into a page the table does not reach.
            var toPage = (int)(0x1000 - (_bufferAt & 0xfff));
            _length = toPage + (ChunkSize - 0x1000);
            try
            {
                memory.Read(_bufferAt, _buffer.AsSpan(0, _length));
            }
            catch (PageNotInDumpException)
            {
                // The table may end just before memory the dump lacks: retry with only the current page.
                _length = toPage;
                memory.Read(_bufferAt, _buffer.AsSpan(0, _length));
            }
            _pos = 0;
        }
    }
}
