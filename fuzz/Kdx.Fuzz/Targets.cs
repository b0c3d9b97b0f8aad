// One fuzz target per parser. Each takes the fuzzer's bytes, parses them and reads what the
// parse promises; DumpFormatException and PageNotInDumpException are the expected outcomes of bad
// input, so anything else escaping (or a hang, or a huge allocation) is a finding.
using Kdx.Dump;
using Kdx.Dump.Compression;
using Kdx.Dump.Formats.Elf;
using Kdx.Dump.Formats.Kdump;
using Kdx.Dump.IO;
using Kdx.Dump.Notes;
using Kdx.Kernel.Debuginfo;

namespace Kdx.Fuzz;

public static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["any"] = bytes => Exercise(() => DumpFile.OpenOne(Source(bytes))),
        ["elf"] = bytes => Exercise(() => ElfCoreDump.Open(Source(bytes))),
        ["kdump"] = bytes => Exercise(() => KdumpCompressedDump.Open(Source(bytes))),
        ["flattened"] = Flattened,
        ["lzo"] = Lzo,
        ["notes"] = Notes,
        ["lines"] = Lines,
    };

    private static MemoryByteSource Source(byte[] bytes) => new("fuzz", bytes);

    /// <summary>Opens, counts pages and reads up to 4096 pages; only the expected exceptions are caught.</summary>
    public static void Exercise(Func<IDumpFile> open)
    {
        IDumpFile dump;
        try
        {
            dump = open();
        }
        catch (DumpFormatException)
        {
            return;
        }
        using (dump)
        {
            try
            {
                _ = dump.CountPages();
            }
            catch (DumpFormatException)
            {
            }
            _ = dump.VmcoreInfo?.OsRelease;
            var page = new byte[dump.PageSize];
            var end = Math.Min(dump.MaxPfn, 4096UL);
            for (ulong pfn = 0; pfn < end; pfn++)
            {
                try
                {
                    _ = dump.GetPageState(pfn);
                    dump.Read(pfn * (ulong)dump.PageSize + 1, page.AsSpan(0, page.Length - 1));
                }
                catch (DumpFormatException)
                {
                }
                catch (PageNotInDumpException)
                {
                }
            }
        }
    }

    private static void Flattened(byte[] bytes)
    {
        // The flat header is fixed; let the fuzzer spend its effort on the records.
        var file = new byte[FlattenedSource.HeaderSize + bytes.Length];
        "makedumpfile"u8.CopyTo(file);
        file[23] = 1; // type 1, big-endian
        file[31] = 1; // version 1
        bytes.CopyTo(file, FlattenedSource.HeaderSize);
        try
        {
            using var flat = FlattenedSource.Open(Source(file));
            var buf = new byte[4096];
            for (long at = 0; at < Math.Min(flat.Length, 1 << 20); at += 3000)
                _ = flat.ReadAt(at, buf);
        }
        catch (DumpFormatException)
        {
        }
        Exercise(() => DumpFile.OpenOne(Source(file)));
    }

    private static void Lzo(byte[] bytes)
    {
        var output = new byte[4096];
        var r = Lzo1x.Decompress(bytes, output, out var n);
        if (n < 0 || n > output.Length || !Enum.IsDefined(r))
            throw new InvalidOperationException($"Lzo1x returned {r} with length {n}");
    }

    private static void Notes(byte[] bytes)
    {
        try
        {
            var notes = ElfNote.ParseAll(bytes, "fuzz", 0);
            _ = CpuState.FromNotes(notes);
            foreach (var n in notes)
                if (n.IsVmcoreInfo)
                    _ = VmcoreInfo.Parse(n.Descriptor).Symbol("init_top_pgt");
        }
        catch (DumpFormatException)
        {
        }
    }

    // .debug_line_str for the fuzzed units: a few paths at small offsets.
    private static readonly byte[] FuzzLineStr = "/src\0inc\0include/linux\0"u8.ToArray();

    /// <summary>The bytes are a whole .debug_line section: index every sequence, then look up addresses across the low 64 KiB and at 0x1000 steps.</summary>
    private static void Lines(byte[] bytes)
    {
        try
        {
            var table = new LineTable("fuzz", bytes, FuzzLineStr, FuzzLineStr);
            _ = table.SequenceCount;
            for (ulong a = 0; a < 0x10000; a += 0x3f1)
                _ = table.Lookup(a)?.ToString();
            for (ulong a = 0x1000; a < 0x1040; a++)
                _ = table.Lookup(a);
        }
        catch (DumpFormatException)
        {
        }
    }
}
