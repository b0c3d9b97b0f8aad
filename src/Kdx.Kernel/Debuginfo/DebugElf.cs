// An ELF file with DWARF (a -dbg vmlinux, a module's .ko) opened for line lookups: the file is
// memory-mapped and sections are handed out as views of the mapping, so an 800 MB vmlinux is
// never copied into managed arrays. SHF_COMPRESSED sections (zlib, zstd) are inflated into one
// buffer each, under a cap. A relocatable object (.ko) gets its .debug_line relocated against
// synthetic section addresses (each allocated section placed at its own base, see SectionBase).
using System.Buffers.Binary;
using System.IO.Compression;
using Kdx.Dump;
using Kdx.Dump.IO;
using Kdx.Kernel.Images;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Debuginfo;

public sealed class DebugElf : IDisposable
{
    /// <summary>Largest section accepted once decompressed (or relocated into a copy).</summary>
    public const long MaxSectionBytes = 1L << 30;

    /// <summary>Largest size/compressed-size ratio believed before allocating the output.</summary>
    public const ulong MaxCompressionRatio = 4096;

    /// <summary>Most relocation records applied to one section.</summary>
    public const int MaxRelocations = 1 << 24;

    private const ulong ShfAlloc = 0x2, ShfCompressed = 0x800;
    private const uint ShtRela = 4, ShtNobits = 8, ShtSymtab = 2;
    private const ushort EtRel = 1;

    private readonly ElfImage _elf;
    private readonly MappedFileSource _map;
    private readonly Dictionary<string, ReadOnlyMemory<byte>> _sections = [];
    private readonly ulong[] _bases;
    private readonly Lazy<LineTable?> _lines;
    private readonly Lazy<ElfSymbolIndex> _symbols;

    private DebugElf(string path, ElfImage elf, MappedFileSource map)
    {
        Path = path;
        _elf = elf;
        _map = map;
        Span<byte> type = stackalloc byte[2];
        elf.ReadFile(16, type);
        IsRelocatable = BinaryPrimitives.ReadUInt16LittleEndian(type) == EtRel;
        _bases = new ulong[elf.Sections.Count];
        if (IsRelocatable)
        {
            // Lay the allocated sections out one after another from a non-zero base, as a loader would.
            ulong next = RelocatableBase;
            for (var i = 0; i < elf.Sections.Count; i++)
            {
                var s = elf.Sections[i];
                if ((s.Flags & ShfAlloc) == 0)
                    continue;
                next = (next + 63) & ~63UL;
                _bases[i] = next;
                next += Math.Max(s.Size, 1);
            }
        }
        _lines = new(OpenLines, LazyThreadSafetyMode.ExecutionAndPublication);
        _symbols = new(() => ElfSymbolIndex.Load(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Where the first allocated section of a relocatable file is placed.</summary>
    public const ulong RelocatableBase = 0x1_0000_0000;

    public string Path { get; }

    /// <summary>ET_REL (a kernel module): addresses in its DWARF are section-relative until relocated.</summary>
    public bool IsRelocatable { get; }

    public IReadOnlyList<ElfImage.Section> Sections => _elf.Sections;

    public static DebugElf Open(string path)
    {
        var elf = ElfImage.Open(path);
        try
        {
            return new DebugElf(path, elf, new MappedFileSource(path));
        }
        catch
        {
            elf.Dispose();
            throw;
        }
    }

    /// <summary>The address this file's lines use for section <paramref name="index"/>: its sh_addr, or for a .ko the synthetic base.</summary>
    public ulong SectionBase(int index) => IsRelocatable ? _bases[index] : _elf.Sections[index].Address;

    public int SectionIndex(string name)
    {
        for (var i = 0; i < _elf.Sections.Count; i++)
            if (_elf.Sections[i].Name == name)
                return i;
        return -1;
    }

    /// <summary>The .debug_line index, or null when the file has no .debug_line.</summary>
    public LineTable? Lines => _lines.Value;

    public bool HasLines => SectionIndex(".debug_line") >= 0;

    internal ElfSymbolIndex Symbols => _symbols.Value;

    private LineTable? OpenLines()
    {
        if (!HasLines)
            return null;
        return new LineTable(Path, Section(".debug_line", relocate: true), Section(".debug_line_str"), Section(".debug_str"));
    }

    /// <summary>The bytes of a section (empty when absent): a view of the mapping, or a decompressed/relocated copy.</summary>
    public ReadOnlyMemory<byte> Section(string name, bool relocate = false)
    {
        lock (_sections)
        {
            if (_sections.TryGetValue(name, out var cached))
                return cached;
            var index = SectionIndex(name);
            var data = index < 0 ? ReadOnlyMemory<byte>.Empty : Load(index);
            if (index >= 0 && relocate && IsRelocatable && FindRela(index) is { } rela)
                data = Relocate(_elf.Sections[index], data, rela);
            _sections[name] = data;
            return data;
        }
    }

    private ReadOnlyMemory<byte> Load(int index)
    {
        var s = _elf.Sections[index];
        if (s.Type == ShtNobits || s.Size == 0)
            return ReadOnlyMemory<byte>.Empty;
        if (s.Size > int.MaxValue)
            throw Fail(s.Offset, $"section {s.Name} of {s.Size} bytes is too large");
        var raw = _map.Slice((long)s.Offset, (int)s.Size);
        return (s.Flags & ShfCompressed) != 0 ? Decompress(s, raw) : raw;
    }

    /// <summary>SHF_COMPRESSED: an Elf64_Chdr (ch_type, ch_reserved, ch_size, ch_addralign) then the stream.</summary>
    private byte[] Decompress(ElfImage.Section s, ReadOnlyMemory<byte> raw)
    {
        const int ChdrSize = 24;
        if (raw.Length < ChdrSize)
            throw Fail(s.Offset, $"compressed section {s.Name} is shorter than its header");
        var hdr = raw.Span;
        var type = BinaryPrimitives.ReadUInt32LittleEndian(hdr);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(hdr[8..]);
        if (size > MaxSectionBytes)
            throw Fail(s.Offset, $"compressed section {s.Name} claims {size} bytes, over the {MaxSectionBytes}-byte limit");
        // zlib cannot expand more than ~1032:1; zstd more, but a real debug section is far below this.
        if (size > Math.Max(1UL << 20, (ulong)raw.Length * MaxCompressionRatio))
            throw Fail(s.Offset, $"compressed section {s.Name} claims {size} bytes from {raw.Length}, beyond a {MaxCompressionRatio}:1 ratio");
        var output = new byte[size];
        var input = raw[ChdrSize..];
        int n;
        try
        {
            switch (type)
            {
                case 1: // ELFCOMPRESS_ZLIB
                    n = Inflate(input, output);
                    break;
                case 2: // ELFCOMPRESS_ZSTD
                    using (var z = new ZstdSharp.Decompressor())
                        n = z.Unwrap(input.Span, output);
                    break;
                default:
                    throw Fail(s.Offset, $"section {s.Name} compressed with unknown type {type}");
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or ZstdSharp.ZstdException)
        {
            throw Fail(s.Offset, $"compressed section {s.Name} is corrupt: {e.Message}");
        }
        if (n != output.Length)
            throw Fail(s.Offset, $"compressed section {s.Name} inflated to {n} bytes, header says {size}");
        return output;
    }

    private static unsafe int Inflate(ReadOnlyMemory<byte> input, byte[] output)
    {
        using var pin = input.Pin();
        using var stream = new UnmanagedMemoryStream((byte*)pin.Pointer, input.Length);
        using var z = new ZLibStream(stream, CompressionMode.Decompress);
        var n = z.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        Span<byte> extra = stackalloc byte[1];
        return n == output.Length && z.Read(extra) != 0 ? n + 1 : n;
    }

    private int? FindRela(int target)
    {
        var name = ".rela" + _elf.Sections[target].Name;
        for (var i = 0; i < _elf.Sections.Count; i++)
            if (_elf.Sections[i].Type == ShtRela && _elf.Sections[i].Name == name)
                return i;
        return null;
    }

    /// <summary>Applies x86-64 RELA records (R_X86_64_64/32/32S; S + A with S a synthetic section address) to a copy of a debug section.</summary>
    private byte[] Relocate(ElfImage.Section target, ReadOnlyMemory<byte> data, int relaIndex)
    {
        var copy = data.ToArray();
        var rela = Load(relaIndex).Span;
        var count = rela.Length / 24;
        if (count > MaxRelocations)
            throw Fail(_elf.Sections[relaIndex].Offset, $"{count} relocations, over {MaxRelocations}");
        var symbols = Symbols;
        for (var i = 0; i < count; i++)
        {
            var r = rela.Slice(i * 24, 24);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(r);
            var info = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
            var addend = BinaryPrimitives.ReadInt64LittleEndian(r[16..]);
            var type = (uint)info;
            var value = symbols.Value((uint)(info >> 32)) + (ulong)addend;
            var width = type switch
            {
                0 => 0, // R_X86_64_NONE
                1 => 8, // R_X86_64_64
                10 or 11 => 4, // R_X86_64_32, R_X86_64_32S
                _ => throw Fail(_elf.Sections[relaIndex].Offset + (ulong)i * 24, $"relocation type {type} in a debug section"),
            };
            if (width == 0)
                continue;
            if (offset > (ulong)copy.Length || (ulong)width > (ulong)copy.Length - offset)
                throw Fail(_elf.Sections[relaIndex].Offset + (ulong)i * 24, $"relocation at 0x{offset:x} outside {target.Name}");
            if (width == 8)
                BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan((int)offset), value);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan((int)offset), (uint)value);
        }
        return copy;
    }

    /// <summary>The NT_GNU_BUILD_ID of the file's SHT_NOTE sections as lower-case hex, or null when it has none.</summary>
    public string? BuildId()
    {
        for (var i = 0; i < _elf.Sections.Count; i++)
        {
            var s = _elf.Sections[i];
            if (s.Type != 7 || s.Size > 1 << 20) // SHT_NOTE; kernel note sections are a few hundred bytes
                continue;
            var notes = Load(i).Span;
            var at = 0;
            while (notes.Length - at >= 12)
            {
                var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[at..]);
                var descSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[(at + 4)..]);
                var type = BinaryPrimitives.ReadUInt32LittleEndian(notes[(at + 8)..]);
                var name = (long)at + 12;
                var desc = name + ((nameSize + 3L) & ~3L);
                var next = desc + ((descSize + 3L) & ~3L);
                if (next > notes.Length)
                    break;
                if (type == 3 && nameSize == 4 && notes.Slice((int)name, 4).SequenceEqual("GNU\0"u8))
                    return Convert.ToHexStringLower(notes.Slice((int)desc, (int)descSize));
                at = (int)next;
            }
        }
        return null;
    }

    internal DumpFormatException Fail(ulong offset, string problem) => new(Path, (long)Math.Min(offset, long.MaxValue), problem);

    internal int SymtabIndex()
    {
        for (var i = 0; i < _elf.Sections.Count; i++)
            if (_elf.Sections[i].Type == ShtSymtab)
                return i;
        return -1;
    }

    internal ReadOnlyMemory<byte> SectionAt(int index) => Load(index);

    public void Dispose()
    {
        _map.Dispose();
        _elf.Dispose();
    }
}

/// <summary>
/// The .symtab of a debug file by index and by function name, with each symbol's address in the
/// file's line-table address space (st_value, plus the synthetic section base for a .ko).
/// </summary>
internal sealed class ElfSymbolIndex
{
    private const int SymbolSize = ElfSymbolEntry.EntrySize;
    private readonly ulong[] _values;
    private readonly Dictionary<string, ulong> _functions;

    private ElfSymbolIndex(ulong[] values, Dictionary<string, ulong> functions)
    {
        _values = values;
        _functions = functions;
    }

    public ulong Value(uint index) => index < _values.Length ? _values[index] : 0;

    /// <summary>The line-table address of function <paramref name="name"/> (first definition), or null.</summary>
    public ulong? Function(string name) => _functions.TryGetValue(name, out var v) ? v : null;

    public static ElfSymbolIndex Load(DebugElf file)
    {
        var symtab = file.SymtabIndex();
        if (symtab < 0)
            return new ElfSymbolIndex([], []);
        var data = file.SectionAt(symtab).Span;
        var link = (int)file.Sections[symtab].Link;
        if (link >= file.Sections.Count)
            throw file.Fail(file.Sections[symtab].Offset, $".symtab links to missing string table {link}");
        var strings = file.SectionAt(link).Span;
        var count = data.Length / SymbolSize;
        if (count > Symbols.SystemMap.MaxSymbols)
            throw file.Fail(file.Sections[symtab].Offset, $".symtab has {count} symbols, over {Symbols.SystemMap.MaxSymbols}");
        var values = new ulong[count];
        var functions = new Dictionary<string, ulong>(StringComparer.Ordinal);
        for (var i = 1; i < count; i++)
        {
            var e = ElfSymbolEntry.At(data, i);
            var (shndx, value, nameOffset) = (e.SectionIndex, e.Value, e.NameOffset);
            if (file.IsRelocatable && shndx > 0 && shndx < file.Sections.Count)
                value += file.SectionBase(shndx);
            values[i] = value;
            if (!e.IsFunction || shndx == 0) // defined functions only
                continue;
            if (nameOffset >= strings.Length)
                continue;
            var rest = strings[(int)nameOffset..];
            var end = rest.IndexOf((byte)0);
            if (end <= 0)
                continue;
            functions.TryAdd(System.Text.Encoding.UTF8.GetString(rest[..end]), value);
        }
        return new ElfSymbolIndex(values, functions);
    }
}
