// Writes a SyntheticMachine as an ELF64 x86_64 core: PT_NOTE first, then one PT_LOAD per run of
// kept pages (p_filesz = p_memsz) and per run of excluded pages (p_filesz = 0, as makedumpfile -E
// leaves them out), p_paddr = physical address, like QEMU's dump-guest-memory.
using System.Buffers.Binary;

namespace Kdx.Dump.Tests.Synthetic;

public static class ElfCoreWriter
{
    /// <param name="kernelText">Also write a PT_LOAD for these pfns (which must be inside one kept run)
    /// before the RAM ones, sharing their file bytes, as /proc/vmcore does for the kernel image.</param>
    public static byte[] Write(SyntheticMachine m, bool incomplete = false, bool qemuNote = false, (ulong Pfn, ulong Count)? kernelText = null)
    {
        var (notes, _) = NoteWriter.Write(m, qemuNote);
        var runs = new List<(ulong Start, ulong Count, bool Kept)>();
        for (ulong pfn = 0; pfn < m.MaxPfn; pfn++)
        {
            if (!m.IsRam(pfn))
                continue;
            var kept = m.Pages.ContainsKey(pfn);
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Count == pfn && runs[^1].Kept == kept)
                runs[^1] = runs[^1] with { Count = runs[^1].Count + 1 };
            else
                runs.Add((pfn, 1, kept));
        }
        var extra = kernelText is null ? 0 : 1;
        var phnum = 1 + extra + runs.Count;
        var ps = (ulong)m.PageSize;
        var notesAt = 64 + 56 * phnum;
        var dataAt = (notesAt + notes.Length + 4095) / 4096 * 4096;
        var size = dataAt + runs.Where(r => r.Kept).Sum(r => (long)(r.Count * ps));
        var f = new byte[size];
        f[0] = 0x7f; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F';
        f[4] = 2; f[5] = 1; f[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(16), 4);   // e_type = ET_CORE
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(18), 62);  // e_machine = EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(20), 1);   // e_version
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(32), 64);  // e_phoff
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(48), incomplete ? 1u : 0u); // e_flags
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(52), 64);  // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(54), 56);  // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(56), (ushort)phnum);
        Phdr(f, 0, 4, (ulong)notesAt, 0, 0, (ulong)notes.Length, (ulong)notes.Length);
        notes.CopyTo(f, notesAt);
        var at = (ulong)dataAt;
        for (var i = 0; i < runs.Count; i++)
        {
            var (start, count, kept) = runs[i];
            var bytes = count * ps;
            Phdr(f, 1 + extra + i, 1, kept ? at : 0, 0xffff888000000000 + start * ps, start * ps, kept ? bytes : 0, bytes);
            if (kernelText is { } kt && kept && kt.Pfn >= start && kt.Pfn + kt.Count <= start + count)
                Phdr(f, 1, 1, at + (kt.Pfn - start) * ps, 0xffffffff81000000, kt.Pfn * ps, kt.Count * ps, kt.Count * ps);
            if (!kept)
                continue;
            for (ulong k = 0; k < count; k++)
                m.Pages[start + k].CopyTo(f, (long)(at + k * ps));
            at += bytes;
        }
        return f;
    }

    private static void Phdr(byte[] f, int index, uint type, ulong offset, ulong vaddr, ulong paddr, ulong filesz, ulong memsz)
    {
        var p = f.AsSpan(64 + 56 * index, 56);
        BinaryPrimitives.WriteUInt32LittleEndian(p, type);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 7);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], vaddr);
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], paddr);
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], filesz);
        BinaryPrimitives.WriteUInt64LittleEndian(p[40..], memsz);
        BinaryPrimitives.WriteUInt64LittleEndian(p[48..], 0);
    }
}
