// makedumpfile 1.7.8's --dump-dmesg of a lab scenario's first capture, for every capture kind.
// The lab stores it for kdump captures (makedumpfile's own files). makedumpfile cannot read QEMU's
// dumps, and the lab keeps its error beside the other oracles:
//  - QEMU's ELF: "get_elf_info: Can't get the number of PT_LOAD". makedumpfile reads program
//    header i at sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr) (elf_info.c, get_elf64_phdr) and never
//    looks at e_phoff; QEMU puts its section header there and the program headers at e_phoff=192.
//  - QEMU's kdump-compressed (flattened, and after makedumpfile -R too): "check_elf_format: Can't
//    get valid ehdr" / "is_dumpable_file: Can't seek the bitmap".
// For those, `kdx capture -E -d 0` copies the capture's memory page for page into a plain ELF64 core
// laid out the way makedumpfile reads one (program headers right after the ELF header, as in
// /proc/vmcore), and makedumpfile 1.7.8 reads that. The copy changes no byte of memory, and the
// tests compare the result with crash reading the original file as well.
using System.Text;
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
            // kdx capture -E at level 0 keeps every page and writes /proc/vmcore's layout.
            var copy = KdxInProcess.Run("capture", "-E", "-d", "0", "--message-level", "0",
                lab.Dump(lab.Metadata.Captures[0].Id), Path.Combine(work, "copy.elf"));
            Assert.True(copy.Code == 0, $"kdx capture -E -d 0 of {lab.Metadata.Name} exited {copy.Code}: {copy.Err}");
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
}
