// A small seed corpus per target, made with the tests' synthetic dump writers: valid inputs of
// every format and compression give the fuzzer paths deep into each parser from the start.
using Kdx.Dump.Compression;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Fuzz;

public static class Seeds
{
    public static void Write(string dir)
    {
        var m = Small();
        var elf = ElfCoreWriter.Write(m, qemuNote: true);
        var kdumps = new[] { KdumpFlags.None, KdumpFlags.Zlib, KdumpFlags.Lzo, KdumpFlags.Snappy, KdumpFlags.Zstd }
            .ToDictionary(f => PageCompression.Describe(f), f => KdumpWriter.Write(m, new KdumpOptions { Method = f }));
        var flat = FlattenedWriter.Wrap(kdumps["zlib"], 2000, 1, staleRecords: true);
        Put(dir, "elf", "core.elf", elf);
        Put(dir, "elf", "incomplete.elf", ElfCoreWriter.Write(m, incomplete: true));
        foreach (var (name, bytes) in kdumps)
        {
            Put(dir, "kdump", $"{name}.kdump", bytes);
            Put(dir, "any", $"{name}.kdump", bytes);
        }
        Put(dir, "kdump", "incomplete.kdump", KdumpWriter.Write(m, new KdumpOptions { WrittenPages = 2 }));
        Put(dir, "kdump", "split.kdump", KdumpWriter.Write(m, new KdumpOptions { Split = (2, 9) }));
        Put(dir, "any", "core.elf", elf);
        Put(dir, "any", "flat.kdump", flat);
        Put(dir, "flattened", "records", flat[4096..]);
        Put(dir, "notes", "notes", NoteWriter.Write(m, qemuNote: true).Notes);
        var page = SyntheticMachine.Pattern(3, 4096);
        Put(dir, "lzo", "pattern.lzo", Lzo1xTestEncoder.Compress(page));
        Put(dir, "lines", "v4.debug_line", Kdx.Kernel.Tests.Debuginfo.LineUnitSamples.V4());
        Put(dir, "lines", "v5.debug_line", Kdx.Kernel.Tests.Debuginfo.LineUnitSamples.V5());
        Put(dir, "lines", "v4v5.debug_line", [.. Kdx.Kernel.Tests.Debuginfo.LineUnitSamples.V4(), .. Kdx.Kernel.Tests.Debuginfo.LineUnitSamples.V5()]);
        Put(dir, "lzo", "text.lzo", Lzo1xTestEncoder.Compress("Linux version 6.1.0 Linux version 6.1.0 Linux"u8));
    }

    // 12 pfns: a zero page, an excluded page and a hole, to keep seeds near 32 KiB.
    private static SyntheticMachine Small()
    {
        var m = new SyntheticMachine { MaxPfn = 12 };
        for (ulong pfn = 0; pfn < 10; pfn++)
        {
            if (pfn == 4)
                continue;
            if (pfn == 6)
                m.Excluded.Add(pfn);
            else
                m.Pages[pfn] = pfn == 2 ? new byte[4096] : SyntheticMachine.Pattern(pfn, 4096);
        }
        m.VmcoreInfo = "OSRELEASE=6.1.0-fuzz\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff82a0a000\nNUMBER(phys_base)=0\nKERNELOFFSET=0\n";
        m.Cpus.Add((1, SyntheticMachine.Regs(1)));
        return m;
    }

    private static void Put(string dir, string target, string name, byte[] bytes)
    {
        var d = Path.Combine(dir, target);
        Directory.CreateDirectory(d);
        File.WriteAllBytes(Path.Combine(d, name), bytes);
    }
}
