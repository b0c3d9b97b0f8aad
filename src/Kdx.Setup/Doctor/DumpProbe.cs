// Does a dump file look openable? The doctor only needs a pluggable yes/no with a reason; the
// default probe checks the file's signature, and Kdx.Dump can plug in a full open later.
using System.Buffers.Binary;

namespace Kdx.Setup.Doctor;

public sealed record DumpProbeResult(bool Openable, string Format, string Detail);

public interface IDumpProbe
{
    /// <summary>Looks at the dump at <paramref name="path"/> (a machine path in <paramref name="fs"/>).</summary>
    DumpProbeResult Probe(RootedFileSystem fs, string path);
}

/// <summary>Recognizes ELF cores, kdump-compressed (and old diskdump) files and makedumpfile's flattened format by their first bytes.</summary>
public sealed class SignatureDumpProbe : IDumpProbe
{
    private const int HeaderBytes = 464;            // disk_dump_header on x86_64
    private const int KdumpStatusOffset = 424;      // disk_dump_header.status
    private const uint KdumpIncompleteFlag = 0x8;   // DUMP_DH_COMPRESSED_INCOMPLETE
    private const int ElfTypeOffset = 16;           // e_type
    private const ushort ElfCore = 4;               // ET_CORE
    private const int Elf64FlagsOffset = 48;        // e_flags in Elf64_Ehdr
    private const int Elf32FlagsOffset = 36;        // e_flags in Elf32_Ehdr

    public DumpProbeResult Probe(RootedFileSystem fs, string path)
    {
        var head = fs.ReadPrefix(path, HeaderBytes);
        if (head is null)
            return new DumpProbeResult(false, "unreadable", "cannot read the file");
        return Classify(head);
    }

    public static DumpProbeResult Classify(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0)
            return new DumpProbeResult(false, "empty", "the file is empty");
        if (head.StartsWith("\u007fELF"u8))
            return ClassifyElf(head);
        if (head.StartsWith("KDUMP   "u8) || head.StartsWith("DISKDUMP"u8))
        {
            var format = head[0] == (byte)'K' ? "kdump-compressed" : "diskdump";
            if (head.Length >= KdumpStatusOffset + 4 && (BinaryPrimitives.ReadUInt32LittleEndian(head[KdumpStatusOffset..]) & KdumpIncompleteFlag) != 0)
                return new DumpProbeResult(false, format, "header marks the dump incomplete (target ran out of space)");
            return new DumpProbeResult(true, format, $"{format} signature");
        }
        if (head.StartsWith("makedumpfile"u8))
            return new DumpProbeResult(true, "flattened", "makedumpfile flattened format (rebuild with makedumpfile -R)");
        return new DumpProbeResult(false, "unknown", "no known dump signature in the first bytes");
    }

    private static DumpProbeResult ClassifyElf(ReadOnlySpan<byte> head)
    {
        if (head.Length < 20)
            return new DumpProbeResult(false, "ELF", "ELF header is truncated");
        bool is64 = head[4] == 2, little = head[5] == 1;
        ushort type = little ? BinaryPrimitives.ReadUInt16LittleEndian(head[ElfTypeOffset..]) : BinaryPrimitives.ReadUInt16BigEndian(head[ElfTypeOffset..]);
        if (type != ElfCore)
            return new DumpProbeResult(false, "ELF", $"ELF file of type {type}, not a core");
        int flagsAt = is64 ? Elf64FlagsOffset : Elf32FlagsOffset;
        if (head.Length >= flagsAt + 4)
        {
            uint flags = little ? BinaryPrimitives.ReadUInt32LittleEndian(head[flagsAt..]) : BinaryPrimitives.ReadUInt32BigEndian(head[flagsAt..]);
            if ((flags & 1) != 0)
                return new DumpProbeResult(false, "ELF core", "e_flags marks the dump incomplete (target ran out of space)");
        }
        return new DumpProbeResult(true, "ELF core", "ELF core signature");
    }
}
