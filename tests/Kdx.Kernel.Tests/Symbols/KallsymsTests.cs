// kallsyms decoding: every address encoding on synthetic tables (chosen by matching _stext),
// long names with two-byte lengths, hostile tables, and the real Debian 6.1 image against its
// System.map, with and without a KASLR displacement.
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Kernel.Images;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests.Symbols;

public class KallsymsTests(ITestOutputHelper output)
{
    private const ulong Text = 0xffffffff81000000;

    private static List<KernelSymbol> Sample(bool percpu)
    {
        var list = new List<KernelSymbol>();
        if (percpu)
        {
            // scripts/kallsyms marks per-CPU symbols absolute under KALLSYMS_ABSOLUTE_PERCPU
            list.Add(new("__per_cpu_start", 0, 'A'));
            list.Add(new("fixed_percpu_data", 0, 'A'));
            list.Add(new("cpu_debug_store", 0x1000, 'A'));
        }
        list.Add(new("_text", Text, 'T'));
        list.Add(new("_stext", Text, 'T'));
        list.Add(new("startup_64", Text + 0x40, 't'));
        list.Add(new("do_one_initcall", Text + 0x1000, 'T'));
        list.Add(new("panic", Text + 0x12340, 'T'));
        list.Add(new(new string('x', 200) + "_long_name_needs_a_two_byte_length", Text + 0x12400, 't'));
        list.Add(new("jiffies", Text + 0x1000000, 'D'));
        list.Add(new("__bss_stop", Text + 0x2000000, 'B'));
        list.Add(new("_end", Text + 0x2001000, 'B'));
        return list;
    }

    [Theory]
    [InlineData(KallsymsAddressing.BaseRelative, false)]
    [InlineData(KallsymsAddressing.AbsolutePercpu, true)]
    [InlineData(KallsymsAddressing.PlaceRelative, false)]
    [InlineData(KallsymsAddressing.Absolute, false)]
    public void EachEncodingIsRecognisedAndDecoded(KallsymsAddressing addressing, bool percpu)
    {
        var symbols = Sample(percpu);
        var (memory, info) = KallsymsBuilder.Build(symbols, addressing, Text);
        var result = Kallsyms.Decode(memory, info);
        Assert.Equal(addressing, result.Addressing);
        var table = result.Table;
        Assert.Equal(symbols.Count, table.Count);
        Assert.Equal(symbols.OrderBy(s => s.Address).Select(s => s.Name), table.Symbols.Select(s => s.Name));
        foreach (var s in symbols)
            Assert.Contains(s, table.LookupAll(s.Name));
        Assert.Equal(Text + 0x12340, table.Lookup("panic")!.Value.Address);
        Assert.Equal('t', table.Lookup("startup_64")!.Value.Type);
        Assert.Equal("panic+0x10/0xc0", table.Resolve(Text + 0x12350)!.Value.ToString());
        // aliases: the first symbol at an address names it
        Assert.Equal("_text+0x0/0x40", table.Resolve(Text)!.Value.ToString());
        Assert.Null(table.Lookup("missing"));
        // below the kernel image nothing resolves, not even to a per-CPU symbol
        Assert.Null(table.Resolve(Text - 1));
        Assert.Null(table.Resolve(0x1008));
        Assert.Null(table.Resolve(Text + 0x2001000)); // the last symbol has no extent
    }

    [Fact]
    public void WrongStextIsRefusedNamingEveryCandidate()
    {
        var (memory, info) = KallsymsBuilder.Build(Sample(false), KallsymsAddressing.BaseRelative, Text, stextOverride: Text + 0x555);
        var e = Assert.Throws<DumpFormatException>(() => Kallsyms.Decode(memory, info));
        Assert.Contains("_stext", e.Problem);
        Assert.Contains("AbsolutePercpu", e.Problem);
    }

    [Fact]
    public void MissingVmcoreinfoSymbolsAreNamed()
    {
        var e = Assert.Throws<DumpFormatException>(() => Kallsyms.Decode(new SparseMemory(), VmcoreInfo.Parse("OSRELEASE=5.4\n")));
        Assert.Contains("kallsyms_names", e.Problem);
    }

    [Fact]
    public void HostileCountsAndNamesAreFormatErrors()
    {
        var (memory, info) = KallsymsBuilder.Build(Sample(false), KallsymsAddressing.BaseRelative, Text);
        var countAt = info.Symbol("kallsyms_num_syms")!.Value;
        memory.WriteU32(countAt, 0x7fffffff);
        Assert.Contains("kallsyms_num_syms", Assert.Throws<DumpFormatException>(() => Kallsyms.Decode(memory, info)).Problem);

        (memory, info) = KallsymsBuilder.Build(Sample(false), KallsymsAddressing.BaseRelative, Text);
        memory.WriteU32(info.Symbol("kallsyms_num_syms")!.Value, 1000); // more symbols than names: runs off the table
        Assert.ThrowsAny<Exception>(() => Kallsyms.Decode(memory, info));
        var ex = Record.Exception(() => Kallsyms.Decode(memory, info));
        Assert.True(ex is DumpFormatException or PageNotInDumpException, ex?.GetType().Name);

        (memory, info) = KallsymsBuilder.Build(Sample(false), KallsymsAddressing.BaseRelative, Text);
        memory.Write(info.Symbol("kallsyms_names")!.Value, [0]); // an empty name
        Assert.Contains("empty name", Assert.Throws<DumpFormatException>(() => Kallsyms.Decode(memory, info)).Problem);
    }


    /// <summary>The VMCOREINFO kallsyms lines a 6.1 kernel would write, taken from System.map.</summary>
    private static VmcoreInfo Info(SymbolTable map, ulong kaslr)
    {
        var lines = new System.Text.StringBuilder("OSRELEASE=6.1.0-56-amd64\n");
        foreach (var name in (string[])["kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index",
                     "kallsyms_offsets", "kallsyms_relative_base", "_stext"])
            lines.Append($"SYMBOL({name})={map.Lookup(name)!.Value.Address + kaslr:x}\n");
        lines.Append($"KERNELOFFSET={kaslr:x}\n");
        return VmcoreInfo.Parse(lines.ToString());
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(0x1c600000UL)]
    public void Debian61ImageKallsymsEqualSystemMap(ulong kaslr)
    {
        var map = SystemMap.Load(Oracles.SystemMap);
        using var image = ElfImage.Open(Oracles.Vmlinux);
        IKernelMemory memory = kaslr == 0 ? image : new Relocated(image, kaslr, map.Lookup("kallsyms_relative_base")!.Value.Address);
        var result = Kallsyms.Decode(memory, Info(map, kaslr));
        Assert.Equal(KallsymsAddressing.AbsolutePercpu, result.Addressing); // x86_64 SMP 6.1
        var table = result.Table;
        var relocatedMap = SystemMap.Load(Oracles.SystemMap, kaslr);

        var mismatches = new List<string>();
        var percpu = 0;
        foreach (var s in table.Symbols)
        {
            // scripts/kallsyms turns per-CPU symbols into absolute ones ('A') under KALLSYMS_ABSOLUTE_PERCPU.
            if (s.Type == 'A' && relocatedMap.LookupAll(s.Name).Any(m => m.Address == s.Address && m.Address < SystemMap.KernelImageBase))
            {
                percpu++;
                continue;
            }
            if (!relocatedMap.LookupAll(s.Name).Contains(s) && mismatches.Count < 20)
                mismatches.Add($"{s.Address:x} {s.Type} {s.Name}: System.map has {string.Join(", ", relocatedMap.LookupAll(s.Name))}");
        }
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
        Assert.InRange(percpu, 100, 1000); // System.map: 383 per-CPU D/d symbols below the image base
        // kallsyms leaves out only a few linker/absolute symbols that System.map lists.
        output.WriteLine($"kallsyms {table.Count}, System.map {map.Count}");
        Assert.InRange(table.Count, map.Count - 200, map.Count);

        var panic = relocatedMap.Lookup("panic")!.Value;
        Assert.Equal(panic, table.Lookup("panic"));
        var loc = table.Resolve(panic.Address + 0x10)!.Value;
        Assert.Equal("panic", loc.Symbol.Name);
        Assert.Equal(0x10UL, loc.Offset);
        Assert.Equal(relocatedMap.Resolve(panic.Address)!.Value.Size, loc.Size);
        Assert.Equal(relocatedMap.Lookup("__start_BTF")!.Value.Address, table.Lookup("__start_BTF")!.Value.Address);
    }

    /// <summary>The image as a KASLR-displaced kernel sees it: every address moved up, relative_base relocated.</summary>
    private sealed class Relocated(ElfImage image, ulong offset, ulong relativeBaseAt) : IKernelMemory
    {
        public void Read(ulong vaddr, Span<byte> destination)
        {
            image.Read(vaddr - offset, destination);
            var rb = relativeBaseAt + offset;
            if (vaddr <= rb && rb + 8 <= vaddr + (ulong)destination.Length)
            {
                var slot = destination.Slice((int)(rb - vaddr), 8);
                BinaryPrimitives.WriteUInt64LittleEndian(slot, BinaryPrimitives.ReadUInt64LittleEndian(slot) + offset);
            }
        }
    }

    [Fact]
    public void SystemMapRelocatesOnlyKernelImageSymbols()
    {
        var map = SystemMap.Parse(new StringReader(
            "0000000000000000 D __per_cpu_start\n00000000000001ea A kexec_control_code_size\nffffffff81000000 T _stext\nffffffff81000040 t startup_64\n"),
            "test", 0x200000);
        Assert.Equal(0UL, map.Lookup("__per_cpu_start")!.Value.Address);
        Assert.Equal(0x1eaUL, map.Lookup("kexec_control_code_size")!.Value.Address);
        Assert.Equal(0xffffffff81200000UL, map.Lookup("_stext")!.Value.Address);
        Assert.Throws<DumpFormatException>(() => SystemMap.Parse(new StringReader("garbage\n"), "bad"));
    }
}
