// The LZO1X decompressor against real liblzo2 output (Vectors/, see make-lzo-vectors.py), hand
// made edge cases, and hostile input that must end in a result code, never an overrun.
using CsCheck;
using Kdx.Dump.Compression;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class Lzo1xTests
{
    private static string Vector(string name) => Path.Combine(AppContext.BaseDirectory, "Vectors", name);

    public static TheoryData<string> Vectors =>
    [
        "zeros.lzo", "zeros.lzo999", "text.lzo", "text.lzo999", "random.lzo", "random.lzo999",
        "structs.lzo", "structs.lzo999", "mixed64k.lzo", "mixed64k.lzo999", "small.lzo", "small.lzo999",
    ];

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decodes_liblzo2_output(string file)
    {
        var compressed = File.ReadAllBytes(Vector(file));
        var expected = File.ReadAllBytes(Vector(Path.GetFileNameWithoutExtension(file) + ".raw"));
        var output = new byte[expected.Length];
        Assert.Equal(LzoResult.Ok, Lzo1x.Decompress(compressed, output, out var n));
        Assert.Equal(expected.Length, n);
        Assert.Equal(expected, output);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Every_truncation_and_short_output_fails_cleanly(string file)
    {
        var compressed = File.ReadAllBytes(Vector(file));
        var expected = File.ReadAllBytes(Vector(Path.GetFileNameWithoutExtension(file) + ".raw"));
        var output = new byte[expected.Length];
        for (var len = 0; len < compressed.Length; len++)
            Assert.NotEqual(LzoResult.Ok, Lzo1x.Decompress(compressed.AsSpan(0, len), output, out _));
        if (expected.Length > 0)
            Assert.Equal(LzoResult.OutputOverrun, Lzo1x.Decompress(compressed, new byte[expected.Length - 1], out _));
    }

    [Fact]
    public void Hand_made_streams()
    {
        var buf = new byte[16];
        Assert.Equal(LzoResult.Ok, Lzo1x.Decompress([0x11, 0, 0], buf, out var n));
        Assert.Equal(0, n);
        // three literals "abc" in the first byte, then the end marker
        Assert.Equal(LzoResult.Ok, Lzo1x.Decompress([17 + 3, (byte)'a', (byte)'b', (byte)'c', 0x11, 0, 0], buf, out n));
        Assert.Equal("abc"u8.ToArray(), buf[..n]);
        // a M2 match of 4 bytes, distance 3, right after: "abcabca"
        Assert.Equal(LzoResult.Ok, Lzo1x.Decompress([17 + 3, (byte)'a', (byte)'b', (byte)'c', (3 << 5) | (2 << 2), 0, 0x11, 0, 0], buf, out n));
        Assert.Equal("abcabca"u8.ToArray(), buf[..n]);
        Assert.Equal(LzoResult.InputNotConsumed, Lzo1x.Decompress([0x11, 0, 0, 0], buf, out _));
        // a match reaching before the start of the output
        Assert.Equal(LzoResult.LookBehindOverrun, Lzo1x.Decompress([18, (byte)'a', 0x44, 0, 0x11, 0, 0], buf, out _));
        Assert.Equal(LzoResult.InputOverrun, Lzo1x.Decompress([], buf, out _));
        // a literal-run length made of zero bytes that never ends
        Assert.Equal(LzoResult.InputOverrun, Lzo1x.Decompress(new byte[1000], buf, out _));
    }

    [Fact]
    public void Random_input_never_throws_or_overruns()
    {
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            var output = new byte[256];
            var r = Lzo1x.Decompress(bytes, output, out var n);
            Assert.InRange(n, 0, output.Length);
            Assert.True(Enum.IsDefined(r));
        }, iter: 20000);
    }

    [Fact]
    public void Round_trips_through_the_test_encoder()
    {
        // Mostly-repetitive data so the encoder emits every match kind.
        var gen = Gen.Select(Gen.Int[1, 8], Gen.Byte.Array[0, 40], Gen.Int[0, 70000], (k, alphabet, len) => (k, alphabet, len));
        gen.Sample(t =>
        {
            var (k, alphabet, len) = t;
            var rnd = new Random(len ^ k);
            var data = new byte[len];
            for (var i = 0; i < len; i++)
                data[i] = alphabet.Length == 0 ? (byte)(i / (k * 100 + 1)) : alphabet[rnd.Next(Math.Min(alphabet.Length, k))];
            var compressed = Lzo1xTestEncoder.Compress(data);
            var output = new byte[len];
            Assert.Equal(LzoResult.Ok, Lzo1x.Decompress(compressed, output, out var n));
            Assert.Equal(len, n);
            Assert.Equal(data, output);
        }, iter: 60);
    }
}
