// A kernel image or module on disk (vmlinux, *.ko): its sections and PT_LOAD segments, read on
// demand with positioned reads so a 600 MB debug vmlinux is never loaded whole.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Images;

public sealed class ElfImage : IKernelMemory, IDisposable
{
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
    private readonly long _length;
    private readonly bool _bigEndian;

    public readonly record struct Section(string Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size);

    public readonly record struct Segment(uint Type, ulong Offset, ulong VirtualAddress, ulong PhysicalAddress, ulong FileSize, ulong MemorySize);

    private ElfImage(string path, Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        Path = path;
        _file = file;
        _length = RandomAccess.GetLength(file);
        Span<byte> ident = stackalloc byte[64];
        if (_length < 64)
            Fail(0, "file is shorter than an ELF64 header");
        ReadAt(0, ident);
        if (!ident[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']))
            Fail(0, "not an ELF file");
        if (ident[4] != 2)
            Fail(4, $"ELF class {ident[4]}: only ELF64 is supported");
        _bigEndian = ident[5] switch
        {
            1 => false,
            2 => true,
            _ => Fail<bool>(5, $"bad ELF data encoding {ident[5]}"),
        };
        var phoff = U64(ident[32..]);
        var shoff = U64(ident[40..]);
        var phentsize = U16(ident[54..]);
        var phnum = U16(ident[56..]);
        var shentsize = U16(ident[58..]);
        var shnum = U16(ident[60..]);
        var shstrndx = U16(ident[62..]);
        Segments = ReadSegments(phoff, phentsize, phnum);
        Sections = ReadSections(shoff, shentsize, shnum, shstrndx);
    }

    public string Path { get; }
    public IReadOnlyList<Section> Sections { get; }
    public IReadOnlyList<Segment> Segments { get; }

    public static ElfImage Open(string path) =>
        new(path, File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess));

    public Section? FindSection(string name)
    {
        foreach (var s in Sections)
            if (s.Name == name)
                return s;
        return null;
    }

    /// <summary>The bytes of a section (SHT_NOBITS sections read as empty), capped at <paramref name="maxLength"/>.</summary>
    public byte[] ReadSection(Section section, int maxLength)
    {
        if (section.Type == 8) // SHT_NOBITS
            return [];
        if (section.Size > (ulong)maxLength)
            Fail((long)section.Offset, $"section {section.Name} of {section.Size} bytes exceeds the {maxLength}-byte limit");
        var data = new byte[section.Size];
        ReadAt((long)section.Offset, data);
        return data;
    }

    /// <summary>Reads the image as the kernel would see it at link-time addresses, through its PT_LOAD segments.</summary>
    public void Read(ulong vaddr, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            var found = false;
            foreach (var seg in Segments)
            {
                if (seg.Type != 1 || vaddr < seg.VirtualAddress || vaddr - seg.VirtualAddress >= seg.MemorySize)
                    continue;
                var into = vaddr - seg.VirtualAddress;
                var chunk = (int)Math.Min((ulong)destination.Length, seg.MemorySize - into);
                var fromFile = into < seg.FileSize ? (int)Math.Min((ulong)chunk, seg.FileSize - into) : 0;
                if (fromFile > 0)
                    ReadAt((long)(seg.Offset + into), destination[..fromFile]);
                destination[fromFile..chunk].Clear(); // .bss part of the segment
                destination = destination[chunk..];
                vaddr += (ulong)chunk;
                found = true;
                break;
            }
            if (!found)
                throw new PageNotInDumpException(vaddr, PageAbsence.Hole);
        }
    }

    public void Dispose() => _file.Dispose();

    private IReadOnlyList<Segment> ReadSegments(ulong offset, ushort entrySize, ushort count)
    {
        if (count == 0)
            return [];
        if (entrySize < 56)
            Fail(54, $"program header size {entrySize} is below 56");
        var table = ReadTable(offset, entrySize, count, "program header table");
        var list = new Segment[count];
        for (var i = 0; i < count; i++)
        {
            var e = table.AsSpan(i * entrySize, entrySize);
            list[i] = new Segment(U32(e), U64(e[8..]), U64(e[16..]), U64(e[24..]), U64(e[32..]), U64(e[40..]));
            if (list[i].FileSize > 0 && list[i].Offset + list[i].FileSize > (ulong)_length)
                Fail((long)offset + i * entrySize, $"segment {i} runs past the end of the file");
        }
        return list;
    }

    private IReadOnlyList<Section> ReadSections(ulong offset, ushort entrySize, ushort count, ushort nameIndex)
    {
        if (count == 0)
            return [];
        if (entrySize < 64)
            Fail(58, $"section header size {entrySize} is below 64");
        if (nameIndex >= count)
            Fail(62, $"section name table index {nameIndex} outside {count} sections");
        var table = ReadTable(offset, entrySize, count, "section header table");
        var raw = new (uint Name, uint Type, ulong Flags, ulong Addr, ulong Offset, ulong Size)[count];
        for (var i = 0; i < count; i++)
        {
            var e = table.AsSpan(i * entrySize, entrySize);
            raw[i] = (U32(e), U32(e[4..]), U64(e[8..]), U64(e[16..]), U64(e[24..]), U64(e[32..]));
            if (raw[i].Type != 8 && raw[i].Offset + raw[i].Size > (ulong)_length)
                Fail((long)offset + i * entrySize, $"section {i} runs past the end of the file");
        }
        var names = raw[nameIndex];
        if (names.Size > 1 << 24)
            Fail((long)names.Offset, "section name table is implausibly large");
        var strtab = new byte[names.Size];
        ReadAt((long)names.Offset, strtab);
        var list = new Section[count];
        for (var i = 0; i < count; i++)
        {
            var r = raw[i];
            if (r.Name >= strtab.Length && count > 0 && r.Name != 0)
                Fail((long)offset + i * entrySize, $"section {i} name offset {r.Name} outside the name table");
            var rest = r.Name < strtab.Length ? strtab.AsSpan((int)r.Name) : [];
            var end = rest.IndexOf((byte)0);
            var name = Encoding.ASCII.GetString(end >= 0 ? rest[..end] : rest);
            list[i] = new Section(name, r.Type, r.Flags, r.Addr, r.Offset, r.Size);
        }
        return list;
    }

    private byte[] ReadTable(ulong offset, ushort entrySize, ushort count, string what)
    {
        var length = (ulong)entrySize * count;
        if (offset + length > (ulong)_length)
            Fail((long)Math.Min(offset, (ulong)long.MaxValue), $"{what} runs past the end of the file");
        var table = new byte[length];
        ReadAt((long)offset, table);
        return table;
    }

    /// <summary>Reads file bytes at a file offset (e.g. a PT_NOTE segment).</summary>
    public void ReadFile(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > _length)
            Fail(offset, $"read of {destination.Length} bytes runs past the end of the file");
        ReadAt(offset, destination);
    }

    private void ReadAt(long offset, Span<byte> destination)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var n = RandomAccess.Read(_file, destination[done..], offset + done);
            if (n <= 0)
                throw new DumpFormatException(Path, offset + done, "unexpected end of file");
            done += n;
        }
    }

    private ushort U16(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
    private uint U32(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
    private ulong U64(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);

    private void Fail(long offset, string problem) => throw new DumpFormatException(Path, offset, problem);

    private T Fail<T>(long offset, string problem) => throw new DumpFormatException(Path, offset, problem);
}
