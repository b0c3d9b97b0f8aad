// makedumpfile 1.7.8's --dump-dmesg of a lab scenario's first capture, for every capture kind.
// The lab stores it for kdump captures (makedumpfile's own files). makedumpfile cannot read QEMU's
// dumps, and the lab keeps its error beside the other oracles:
//  - QEMU's ELF: "get_elf_info: Can't get the number of PT_LOAD". makedumpfile reads program
//    header i at sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr) (elf_info.c, get_elf64_phdr) and never
//    looks at e_phoff; QEMU puts its section header there and the program headers at e_phoff=192.
//  - QEMU's kdump-compressed (flattened, and after makedumpfile -R too): "check_elf_format: Can't
//    get valid ehdr" / "is_dumpable_file: Can't seek the bitmap".
// For those, the capture's memory is copied page for page into a plain ELF64 core laid out the way
// makedumpfile reads one (program headers right after the ELF header, one PT_LOAD per run of pages
// in the dump, the dump's notes in PT_NOTE), and makedumpfile 1.7.8 reads that. The copy changes no
// byte of memory, and the tests compare the result with crash reading the original file as well.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Dump.Notes;
using Kdx.Lab;

namespace Kdx.Cli.Tests;

internal static class MakedumpfileDmesg
{
    private const string Stored = "makedumpfile-1.7.8-dmesg.txt";
    private const string FromCopy = "makedumpfile-1.7.8-dmesg-elf-copy.txt";

    /// <summary>makedumpfile 1.7.8's log text of the scenario's capture 0 and how it was obtained.</summary>
    public static (string Text, string How) Read(LabResult lab, string oracleDir)
    {
        var stored = Path.Combine(oracleDir, Stored);
        if (File.Exists(stored))
            return (File.ReadAllText(stored, Encoding.Latin1), "makedumpfile 1.7.8 on the capture");
        // The lab's record of makedumpfile failing on the original file, the reason for the copy.
        var error = File.ReadAllText(Path.Combine(oracleDir, "makedumpfile-1.7.8-error.txt"));
        Assert.Matches("Can't get the number of PT_LOAD|Can't get valid ehdr", error);
        var copied = Path.Combine(oracleDir, FromCopy);
        if (!File.Exists(copied))
        {
            using var _ = FileLock.Acquire("mdf-elf-copy-" + lab.Metadata.Name, TimeSpan.FromMinutes(30));
            if (!File.Exists(copied))
                Produce(lab, copied);
        }
        return (File.ReadAllText(copied, Encoding.Latin1), "makedumpfile 1.7.8 on a page-for-page ELF copy");
    }

    private static void Produce(LabResult lab, string target)
    {
        var root = Oracles.EnsureChroot(Console.Error);
        var work = Path.Combine(root, "tmp", "kdx-mdf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            using (var dump = DumpFile.Open([.. lab.Files(lab.Metadata.Captures[0].Id)]))
                WriteElf(dump, Path.Combine(work, "copy.elf"));
            var inside = "/tmp/" + Path.GetFileName(work);
            var r = Sh.Try("chroot", [root, "makedumpfile", "--dump-dmesg", inside + "/copy.elf", inside + "/dmesg.txt"], timeout: TimeSpan.FromMinutes(10));
            var text = Path.Combine(work, "dmesg.txt");
            if (r.ExitCode != 0 || !File.Exists(text))
                throw new InvalidOperationException($"makedumpfile 1.7.8 --dump-dmesg failed on the ELF copy of {lab.Metadata.Name}: {Sh.Tail(r.Stdout + r.Stderr, 10)}");
            File.Copy(text, target + ".tmp", true);
            File.Move(target + ".tmp", target, true);
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    /// <summary>ELF64 core: header, program headers at 64, notes, then each run of readable pages.</summary>
    public static void WriteElf(IDumpFile dump, string path)
    {
        var ps = (ulong)dump.PageSize;
        var runs = new List<(ulong Start, ulong Pages)>();
        for (ulong pfn = 0; pfn < dump.MaxPfn; pfn++)
        {
            if (!dump.GetPageState(pfn).IsReadable())
                continue;
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Pages == pfn)
                runs[^1] = (runs[^1].Start, runs[^1].Pages + 1);
            else
                runs.Add((pfn, 1));
        }
        Assert.InRange(runs.Count, 1, 60000);

        var notes = new MemoryStream();
        Span<byte> h = stackalloc byte[12];
        foreach (var n in dump.Notes)
        {
            var name = Encoding.ASCII.GetBytes(n.Name + "\0");
            BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)n.Descriptor.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], n.Type);
            notes.Write(h);
            notes.Write(name);
            notes.Write(new byte[(4 - name.Length % 4) % 4]);
            notes.Write(n.Descriptor);
            notes.Write(new byte[(4 - n.Descriptor.Length % 4) % 4]);
        }

        const int ehdr = 64, phdr = 56;
        var phnum = runs.Count + 1;
        var notesAt = (ulong)(ehdr + phnum * phdr);
        var dataAt = (notesAt + (ulong)notes.Length + ps - 1) / ps * ps;
        var head = new byte[notesAt];
        "\x7f"u8.CopyTo(head);
        "ELF"u8.CopyTo(head.AsSpan(1));
        head[4] = 2; // ELFCLASS64
        head[5] = 1; // little endian
        head[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(16), 4);  // ET_CORE
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(18), 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(head.AsSpan(32), ehdr); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(52), ehdr);
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(54), phdr);
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(56), (ushort)phnum);
        void Phdr(int i, uint type, ulong offset, ulong paddr, ulong size)
        {
            var p = head.AsSpan(ehdr + i * phdr, phdr);
            BinaryPrimitives.WriteUInt32LittleEndian(p, type);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], offset);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], paddr);
            BinaryPrimitives.WriteUInt64LittleEndian(p[32..], size);
            BinaryPrimitives.WriteUInt64LittleEndian(p[40..], size);
        }
        Phdr(0, 4, notesAt, 0, (ulong)notes.Length); // PT_NOTE
        var offset = dataAt;
        for (var i = 0; i < runs.Count; i++)
        {
            Phdr(i + 1, 1, offset, runs[i].Start * ps, runs[i].Pages * ps); // PT_LOAD
            offset += runs[i].Pages * ps;
        }

        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        f.Write(head);
        notes.WriteTo(f);
        f.Position = (long)dataAt;
        var page = new byte[ps];
        foreach (var (start, pages) in runs)
            for (var pfn = start; pfn < start + pages; pfn++)
            {
                dump.Read(pfn * ps, page);
                f.Write(page);
            }
    }
}
