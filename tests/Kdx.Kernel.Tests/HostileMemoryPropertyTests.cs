// Property: a dump whose kernel memory is damaged anywhere in the kallsyms tables or the printk
// ring makes the readers fail only with DumpFormatException (bad data) or PageNotInDumpException
// (a damaged pointer leading outside the dump) — never hang, overflow or index out of range.
using CsCheck;
using Kdx.Dump;
using Kdx.Kernel.Log;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Log;
using Kdx.Kernel.Tests.Support;
using Kdx.Kernel.Tests.Symbols;

namespace Kdx.Kernel.Tests;

public class HostileMemoryPropertyTests
{
    /// <summary>Damage: writes of 1, 2, 4 or 8 random bytes at random places inside the given regions.</summary>
    private static Gen<(int Region, int Offset, byte[] Bytes)[]> Damage(int regions) =>
        Gen.Select(Gen.Int[0, regions - 1], Gen.Int[0, 1 << 20], Gen.Int[0, 3].SelectMany(n => Gen.Byte.Array[1 << n]))
            .Array[1, 6];

    private static void Apply(SparseMemory memory, (ulong At, int Length)[] regions, (int Region, int Offset, byte[] Bytes)[] damage)
    {
        foreach (var (r, off, bytes) in damage)
        {
            var (at, length) = regions[r];
            if (length < bytes.Length)
                continue;
            memory.Write(at + (ulong)(off % (length - bytes.Length + 1)), bytes);
        }
    }

    private static bool Acceptable(Exception e) => e is DumpFormatException or PageNotInDumpException;

    [Fact]
    public void DamagedPrintkRingOnlyFailsWithDumpExceptions()
    {
        Damage(5).Sample(damage =>
        {
            var ring = new RingBuilder(4, 9);
            for (var i = 0; i < 30; i++)
                ring.Add($"record {i} " + new string('z', i % 20), (ulong)i * 1000, level: i % 8, caller: (uint)i);
            (ulong, int)[] regions =
            [
                (RingBuilder.RingAt, 128), (RingBuilder.DescsAt, 16 * 40), (RingBuilder.InfosAt, 16 * 104),
                (RingBuilder.DataAt, 512), (RingBuilder.PrbPointer, 8),
            ];
            Apply(ring.Memory, regions, damage);
            try
            {
                var log = KernelLog.Read(ring.Memory, new KernelLayout(RingBuilder.Info(), RingBuilder.Btf()));
                Assert.True(log.Records.Count <= 17);
                LogFormatter.Format(log.Records, new LogFormatOptions { ShowLevel = true, CallerWidth = 6, ShowDeviceInfo = true });
            }
            catch (Exception e) when (Acceptable(e))
            {
            }
        }, iter: 3000);
    }

    [Fact]
    public void DamagedKallsymsTablesOnlyFailWithDumpExceptions()
    {
        var symbols = new List<KernelSymbol>();
        for (var i = 0; i < 300; i++)
            symbols.Add(new KernelSymbol(i == 0 ? "_stext" : $"sym_{i}_{new string('q', i % 150)}", 0xffffffff81000000 + (ulong)i * 0x40, i % 2 == 0 ? 'T' : 't'));
        var (pristine, info) = KallsymsBuilder.Build(symbols, KallsymsAddressing.BaseRelative, 0xffffffff81000000);
        Damage(4).Sample(damage =>
        {
            var memory = pristine.Clone();
            (ulong, int)[] regions =
            [
                (info.Symbol("kallsyms_names")!.Value, 4096), (info.Symbol("kallsyms_token_table")!.Value, 1024),
                (info.Symbol("kallsyms_token_index")!.Value, 512), (info.Symbol("kallsyms_num_syms")!.Value, 4),
            ];
            Apply(memory, regions, damage);
            try
            {
                var table = Kallsyms.Read(memory, info);
                table.Resolve(0xffffffff81000100);
                table.Lookup("sym_3_qqq");
            }
            catch (Exception e) when (Acceptable(e))
            {
            }
        }, iter: 1500);
    }
}
