// ELF notes (Elf64_Nhdr records) as found in a core's PT_NOTE segment, or in the copy of it that a
// kdump-compressed file keeps: per-CPU NT_PRSTATUS, VMCOREINFO, QEMU's CPU state, and others.
using System.Buffers.Binary;
using System.Text;

namespace Kdx.Dump.Notes;

public sealed record ElfNote(string Name, uint Type, byte[] Descriptor)
{
    public const uint NtPrStatus = 1;   // NT_PRSTATUS, name "CORE"
    public const uint NtPrFpReg = 2;    // NT_PRFPREG
    public const uint NtPrPsInfo = 3;   // NT_PRPSINFO
    public const uint NtX86XState = 0x202; // NT_X86_XSTATE

    public bool IsPrStatus => Type == NtPrStatus && Name == "CORE";

    public bool IsVmcoreInfo => Name == "VMCOREINFO";

    public bool IsQemuCpuState => Name == "QEMU";

    /// <summary>
    /// Parses a note area. <paramref name="baseOffset"/> is where it starts in the file, for
    /// error messages. A run of zero bytes ends the area (the kernel pads merged note segments).
    /// </summary>
    public static List<ElfNote> ParseAll(ReadOnlySpan<byte> area, string file, long baseOffset)
    {
        var notes = new List<ElfNote>();
        var pos = 0;
        while (area.Length - pos >= 12)
        {
            var namesz = BinaryPrimitives.ReadUInt32LittleEndian(area[pos..]);       // n_namesz
            var descsz = BinaryPrimitives.ReadUInt32LittleEndian(area[(pos + 4)..]); // n_descsz
            var type = BinaryPrimitives.ReadUInt32LittleEndian(area[(pos + 8)..]);   // n_type
            if (namesz == 0 && descsz == 0 && type == 0)
                break;
            var nameStart = pos + 12;
            var nameLen = Align4(namesz);
            var descLen = Align4(descsz);
            if (nameLen > (ulong)(area.Length - nameStart) || descLen > (ulong)(area.Length - nameStart) - nameLen)
            {
                // The descriptor may be unpadded at the very end of the area.
                if (nameLen <= (ulong)(area.Length - nameStart) && descsz <= (ulong)(area.Length - nameStart) - nameLen)
                    descLen = descsz;
                else
                    throw new DumpFormatException(file, baseOffset + pos, $"ELF note (namesz {namesz}, descsz {descsz}) runs past the end of its note segment");
            }
            if (notes.Count >= DumpLimits.MaxNotes)
                throw new DumpFormatException(file, baseOffset + pos, $"more than {DumpLimits.MaxNotes} ELF notes");
            var nameBytes = area.Slice(nameStart, (int)namesz);
            var nul = nameBytes.IndexOf((byte)0);
            if (nul >= 0)
                nameBytes = nameBytes[..nul];
            var descStart = nameStart + (int)nameLen;
            notes.Add(new ElfNote(Encoding.ASCII.GetString(nameBytes), type, area.Slice(descStart, (int)descsz).ToArray()));
            pos = descStart + (int)descLen; // strictly past the 12-byte header
        }
        return notes;
    }

    private static ulong Align4(uint n) => ((ulong)n + 3) & ~3UL;
}
