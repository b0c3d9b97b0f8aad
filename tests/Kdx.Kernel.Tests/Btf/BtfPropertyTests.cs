// Property: whatever bytes a hostile or damaged dump hands the BTF parser, and whatever is then
// asked of the result, the only failure is a DumpFormatException.
using CsCheck;
using Kdx.Dump;
using Kdx.Kernel.Btf;

namespace Kdx.Kernel.Tests.Btf;

public class BtfPropertyTests
{
    private static readonly byte[] Blob = BtfSyntheticTests.Sample().Blob;

    /// <summary>Overwrites of single bytes, aligned words (ids, offsets, counts) and a possible truncation.</summary>
    private static readonly Gen<byte[]> Mutated =
        Gen.Select(
            Gen.Select(Gen.Int[0, Blob.Length - 1], Gen.Byte).Array[1, 8],
            Gen.Select(Gen.Int[0, Blob.Length / 4 - 1], Gen.UInt).Array[0, 4],
            Gen.Int[0, 20],
            (bytes, words, cut) =>
            {
                var b = (byte[])Blob.Clone();
                foreach (var (at, v) in bytes)
                    b[at] = v;
                foreach (var (w, v) in words)
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(w * 4), v);
                return cut == 0 ? b[..(b.Length * 3 / 4)] : b;
            });

    [Fact]
    public void MutationsNeverThrowAnythingButDumpFormatException()
    {
        Mutated.Sample(blob =>
        {
            try
            {
                Exercise(BtfTypes.Parse(blob, "mutated"));
            }
            catch (DumpFormatException)
            {
            }
        }, iter: 20_000);
    }

    [Fact]
    public void MutatedSplitBtfOverAGoodBaseNeverThrowsAnythingElse()
    {
        var vmlinux = BtfTypes.Parse(Blob, "vmlinux");
        Mutated.Sample(blob =>
        {
            try
            {
                Exercise(BtfTypes.Parse(blob, "mutated", vmlinux));
            }
            catch (DumpFormatException)
            {
            }
        }, iter: 5_000);
    }

    /// <summary>Every query the rest of kdx makes of BTF, over every type and member.</summary>
    private static void Exercise(BtfTypes btf)
    {
        for (var id = btf.FirstId; id < btf.EndId; id++)
        {
            var t = btf[id];
            btf.Resolve(id);
            btf.SizeOf(id);
            if (t.Name.Length > 0)
            {
                btf.FindAll(t.Name);
                btf.FindDataType(t.Name);
                foreach (var m in t.Members)
                {
                    btf.TryField($"{t.Name}.{m.Name}", out _, out _);
                    btf.TryField($"{t.Name}.{m.Name}[1]", out _, out _);
                    btf.TryField($"{t.Name}.{m.Name}.next", out _, out _);
                }
            }
        }
    }
}
