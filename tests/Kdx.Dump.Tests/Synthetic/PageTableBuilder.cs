// Builds x86_64 page tables (4 or 5 levels) inside a SyntheticMachine's pages: mappings of 4K,
// 2M and 1G pages at any virtual address, tables allocated from a pool of pfns.
using System.Buffers.Binary;

namespace Kdx.Dump.Tests.Synthetic;

public sealed class PageTableBuilder
{
    public const ulong Present = 1, Writable = 2, Pse = 0x80;

    private readonly SyntheticMachine _m;
    private readonly int _levels;
    private ulong _nextPfn;

    public PageTableBuilder(SyntheticMachine m, int levels, ulong firstTablePfn, ulong rootPfn)
    {
        _m = m;
        _levels = levels;
        _nextPfn = firstTablePfn;
        Root = rootPfn * 4096;
        _m.Pages.TryAdd(rootPfn, new byte[4096]);
    }

    /// <summary>Physical address of the top-level table.</summary>
    public ulong Root { get; }

    /// <summary>Extra bits ORed into every entry written (e.g. an SME encryption bit).</summary>
    public ulong EntryBits { get; init; }

    /// <summary>Maps [vaddr, vaddr+size) to paddr with pages of pageSize (4K, 2M or 1G).</summary>
    public void Map(ulong vaddr, ulong paddr, ulong size, ulong pageSize)
    {
        var leafLevel = pageSize switch { 4096 => 1, 2UL << 20 => 2, 1UL << 30 => 3, _ => throw new ArgumentException("page size") };
        for (ulong off = 0; off < size; off += pageSize)
        {
            var v = vaddr + off;
            var table = Root;
            for (var level = _levels; level > leafLevel; level--)
            {
                var slot = table + ((v >> (12 + 9 * (level - 1))) & 511) * 8;
                var entry = ReadEntry(slot);
                if ((entry & Present) == 0)
                {
                    var pfn = _nextPfn++;
                    _m.Pages[pfn] = new byte[4096];
                    entry = pfn * 4096 | Present | Writable | EntryBits;
                    WriteEntry(slot, entry);
                }
                table = entry & 0x000f_ffff_ffff_f000 & ~EntryBits;
            }
            var leaf = table + ((v >> (12 + 9 * (leafLevel - 1))) & 511) * 8;
            WriteEntry(leaf, (paddr + off) | Present | Writable | (leafLevel > 1 ? Pse : 0) | EntryBits);
        }
    }

    private ulong ReadEntry(ulong paddr) => BinaryPrimitives.ReadUInt64LittleEndian(_m.Pages[paddr / 4096].AsSpan((int)(paddr % 4096)));

    private void WriteEntry(ulong paddr, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(_m.Pages[paddr / 4096].AsSpan((int)(paddr % 4096)), value);
}
