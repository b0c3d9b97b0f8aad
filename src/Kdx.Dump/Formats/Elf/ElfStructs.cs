// ELF64 on-disk records needed to read a core file, decoded from little-endian spans.
using System.Buffers.Binary;

namespace Kdx.Dump.Formats.Elf;

internal static class ElfConstants
{
    public const int EhdrSize = 64;
    public const int PhdrSize = 56;
    public const int ShdrSize = 64;
    public const byte ElfClass64 = 2;     // ELFCLASS64
    public const byte ElfData2Lsb = 1;    // ELFDATA2LSB
    public const ushort EtCore = 4;       // ET_CORE
    public const ushort EmX86_64 = 62;    // EM_X86_64
    public const ushort PnXnum = 0xffff;  // PN_XNUM: real e_phnum is in section 0's sh_info
    public const uint PtLoad = 1;         // PT_LOAD
    public const uint PtNote = 4;         // PT_NOTE
    public const uint EfIncomplete = 1;   // makedumpfile: e_flags bit for an incomplete ELF dump

    public static bool HasMagic(ReadOnlySpan<byte> b) => b.Length >= 4 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F';

    public static string TypeName(ushort type) => type switch
    {
        0 => "ET_NONE",
        1 => "a relocatable object (ET_REL)",
        2 => "an executable (ET_EXEC)",
        3 => "a shared object or PIE executable (ET_DYN)",
        4 => "a core (ET_CORE)",
        _ => $"type {type}",
    };

    public static string MachineName(ushort machine) => machine switch
    {
        3 => "i386",
        40 => "arm",
        62 => "x86_64",
        183 => "aarch64",
        21 => "ppc64",
        22 => "s390",
        243 => "riscv",
        _ => $"machine {machine}",
    };
}

internal readonly struct Elf64Ehdr
{
    public readonly ushort Type;        // e_type
    public readonly ushort Machine;     // e_machine
    public readonly ulong PhOff;        // e_phoff
    public readonly ulong ShOff;        // e_shoff
    public readonly uint Flags;         // e_flags
    public readonly ushort PhEntSize;   // e_phentsize
    public readonly ushort PhNum;       // e_phnum
    public readonly ushort ShEntSize;   // e_shentsize
    public readonly ushort ShNum;       // e_shnum

    public Elf64Ehdr(ReadOnlySpan<byte> b)
    {
        Type = BinaryPrimitives.ReadUInt16LittleEndian(b[16..]);
        Machine = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
        PhOff = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        ShOff = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[48..]);
        PhEntSize = BinaryPrimitives.ReadUInt16LittleEndian(b[54..]);
        PhNum = BinaryPrimitives.ReadUInt16LittleEndian(b[56..]);
        ShEntSize = BinaryPrimitives.ReadUInt16LittleEndian(b[58..]);
        ShNum = BinaryPrimitives.ReadUInt16LittleEndian(b[60..]);
    }
}

internal readonly struct Elf64Phdr
{
    public readonly uint Type;      // p_type
    public readonly ulong Offset;   // p_offset
    public readonly ulong VAddr;    // p_vaddr
    public readonly ulong PAddr;    // p_paddr
    public readonly ulong FileSize; // p_filesz
    public readonly ulong MemSize;  // p_memsz

    public Elf64Phdr(ReadOnlySpan<byte> b)
    {
        Type = BinaryPrimitives.ReadUInt32LittleEndian(b);
        Offset = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]);
        VAddr = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        PAddr = BinaryPrimitives.ReadUInt64LittleEndian(b[24..]);
        FileSize = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        MemSize = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
    }
}
