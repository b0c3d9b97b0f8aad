// Opening synthetic dumps from memory, and checking a dump's pages against the machine it was made from.
using Kdx.Dump.IO;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public static class TestDumps
{
    public static IDumpFile Open(byte[] bytes, string name = "test.dump") =>
        DumpFile.Open([new MemoryByteSource(name, bytes)]);

    public static IDumpFile OpenSet(params byte[][] files) =>
        DumpFile.Open(files.Select((f, i) => (IByteSource)new MemoryByteSource($"part{i}", f)).ToList());

    /// <summary>Every pfn's state and every kept page's bytes match the machine.</summary>
    public static void AssertMatches(SyntheticMachine m, IDumpFile dump, bool zeroPagesShared)
    {
        Assert.Equal(m.PageSize, dump.PageSize);
        var page = new byte[m.PageSize];
        for (ulong pfn = 0; pfn < m.MaxPfn + 2; pfn++)
        {
            var paddr = pfn * (ulong)m.PageSize;
            var state = dump.GetPageState(pfn);
            if (m.Pages.TryGetValue(pfn, out var expected))
            {
                var isZero = expected.All(b => b == 0);
                Assert.Equal(zeroPagesShared && isZero ? PageState.Zero : PageState.Present, state);
                dump.Read(paddr, page);
                Assert.True(expected.AsSpan().SequenceEqual(page), $"pfn {pfn} contents differ");
            }
            else
            {
                var absent = m.Excluded.Contains(pfn) ? PageState.Excluded : PageState.Hole;
                Assert.Equal(absent, state);
                var e = Assert.Throws<PageNotInDumpException>(() => dump.Read(paddr + 8, new byte[8]));
                Assert.Equal(paddr + 8, e.PhysicalAddress);
                Assert.Equal(absent.ToAbsence(), e.Absence);
            }
        }
    }
}
