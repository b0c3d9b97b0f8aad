// QEMU's ELF dumps (dump-guest-memory) put a section header before the program headers; makedumpfile
// (1.7.2 and 1.7.8) looks for the program headers only right after the ELF header and stops with
// "Can't get the number of PT_LOAD". This makes a copy it reads: the program header table moved up
// front, the section header (QEMU's e_phnum overflow slot, unused) dropped, and every byte of the
// segments where it was, so kdx and makedumpfile read the same pages from the same offsets.
using System.Buffers.Binary;

namespace Kdx.Lab;

public static class QemuElfCopy
{
    private const int EhdrSize = 64, PhdrSize = 56;

    /// <summary>Writes <paramref name="output"/> from <paramref name="qemuElf"/> (once: an existing newer copy is kept).</summary>
    public static string WithProgramHeadersFirst(string qemuElf, string output)
    {
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) > File.GetLastWriteTimeUtc(qemuElf))
            return output;
        var tmp = output + ".tmp";
        File.Copy(qemuElf, tmp, overwrite: true);
        using (var f = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite))
        {
            var ehdr = new byte[EhdrSize];
            f.ReadExactly(ehdr);
            var phoff = BinaryPrimitives.ReadInt64LittleEndian(ehdr.AsSpan(32));
            var phnum = BinaryPrimitives.ReadUInt16LittleEndian(ehdr.AsSpan(56));
            var phdrs = new byte[phnum * PhdrSize];
            f.Position = phoff;
            f.ReadExactly(phdrs);
            for (var i = 0; i < phnum; i++)
                if (BinaryPrimitives.ReadInt64LittleEndian(phdrs.AsSpan(i * PhdrSize + 8)) < EhdrSize + phdrs.Length)
                    throw new LabException($"{qemuElf}: segment {i} starts inside the program headers' new place");
            BinaryPrimitives.WriteInt64LittleEndian(ehdr.AsSpan(32), EhdrSize); // e_phoff
            BinaryPrimitives.WriteInt64LittleEndian(ehdr.AsSpan(40), 0);        // e_shoff
            ehdr.AsSpan(58, 6).Clear();                                         // e_shentsize, e_shnum, e_shstrndx
            f.Position = 0;
            f.Write(ehdr);
            f.Write(phdrs);
        }
        File.Move(tmp, output, overwrite: true);
        return output;
    }
}
