// Small, lab-free checks: the LZO1X-1 compressor round-trips through the decompressor, pfn
// bitmap ranges handled a word at a time agree with a bit-by-bit walk, and a VMCOREINFO without
// the keys a level needs switches that level off and names the keys.
using CsCheck;
using Kdx.Dump;
using Kdx.Dump.Compression;

namespace Kdx.Capture.Tests;

public class UnitTests
{
    private static readonly Gen<byte[]> s_pages = Gen.OneOf(
        Gen.Byte.Array[0, 4096],                                              // noise
        Gen.Byte[0, 3].Array[4096],                                           // few symbols: long matches
        Gen.Select(Gen.Byte.Array[1, 64], Gen.Int[1, 4096], (unit, n) =>     // repeated records
            Enumerable.Range(0, n).Select(i => unit[i % unit.Length]).ToArray()));

    [Fact]
    public void Lzo1x1_RoundTrips()
    {
        var lzo = new Lzo1xCompressor();
        s_pages.Sample(page =>
        {
            var packed = new byte[Lzo1xCompressor.MaxCompressedLength(page.Length)];
            var n = lzo.Compress(page, packed);
            var back = new byte[page.Length];
            Assert.Equal(LzoResult.Ok, Lzo1x.Decompress(packed.AsSpan(0, n), back, out var written));
            Assert.Equal(page.Length, written);
            Assert.Equal(page, back);
        }, iter: 2000);
    }

    [Fact]
    public void Lzo1x1_CompressesRepetitiveData()
    {
        var page = new byte[4096];
        for (var i = 0; i < page.Length; i++)
            page[i] = (byte)(i % 16 == 0 ? i / 16 : 7);
        var packed = new byte[Lzo1xCompressor.MaxCompressedLength(page.Length)];
        Assert.True(new Lzo1xCompressor().Compress(page, packed) < 1500);
    }

    [Fact]
    public void PfnBits_WordAtATime_AgreesWithBitByBit()
    {
        // random bitmaps of up to 5 words with sparse or dense bits, and ranges anywhere in them
        var gen = Gen.Select(Gen.ULong.Array[1, 5], Gen.Bool, Gen.Int[0, 320], Gen.Int[0, 320], (w, sparse, a, b) =>
            (Words: sparse ? Array.ConvertAll(w, x => x & (x >> 7) & (x >> 13)) : w, From: (ulong)Math.Min(a, b), To: (ulong)Math.Max(a, b)));
        gen.Sample(c =>
        {
            var to = Math.Min(c.To, (ulong)c.Words.Length * 64);
            var from = Math.Min(c.From, to);
            static bool Bit(ulong[] w, ulong i) => (w[i >> 6] & (1UL << (int)(i & 63))) != 0;
            var any = false;
            var next = to;
            for (var i = from; i < to; i++)
                if (Bit(c.Words, i))
                {
                    any = true;
                    next = Math.Min(next, i);
                }
            Assert.Equal(any, PfnBits.Any(c.Words, from, to));
            Assert.Equal(next, PfnBits.NextSet(c.Words, from, to));
            var set = (ulong[])c.Words.Clone();
            PfnBits.SetRange(set, from, to);
            for (ulong i = 0; i < (ulong)c.Words.Length * 64; i++)
                Assert.Equal(Bit(c.Words, i) || (i >= from && i < to), Bit(set, i));
        }, iter: 3000);
    }

    [Fact]
    public void CaptureFileSource_MappedAndPread_ReadTheSameBytes()
    {
        // /proc/vmcore is read through mapped windows, files with pread: both must give the file's
        // bytes for any range, including ranges across windows and up to the end of the file.
        var path = Path.GetTempFileName();
        try
        {
            var bytes = new byte[(int)(CaptureFileSource.WindowSize * 3 + 12345)];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            using var mapped = new CaptureFileSource(path, mapped: true);
            using var file = new CaptureFileSource(path, mapped: false);
            mapped.MapOnly([(0, bytes.Length)]);
            Assert.True(mapped.IsMapped);
            Assert.False(file.IsMapped);
            Gen.Select(Gen.Int[0, bytes.Length], Gen.Int[1, 300_000]).Sample((offset, length) =>
            {
                var want = bytes.AsSpan(offset, Math.Min(length, bytes.Length - offset));
                var a = new byte[length];
                var b = new byte[length];
                Assert.Equal(want.Length, mapped.ReadAt(offset, a));
                Assert.Equal(want.Length, file.ReadAt(offset, b));
                Assert.True(want.SequenceEqual(a.AsSpan(0, want.Length)) && want.SequenceEqual(b.AsSpan(0, want.Length)));
                var inOneWindow = offset + length <= bytes.Length && offset / CaptureFileSource.WindowSize == (offset + length - 1) / CaptureFileSource.WindowSize;
                Assert.False(file.TryPin(offset, length, out _, out _));
                Assert.Equal(inOneWindow, mapped.TryPin(offset, length, out var view, out var pin));
                if (pin is not null)
                {
                    Assert.True(view.SequenceEqual(want));
                    mapped.Unpin(pin);
                }
            }, iter: 500);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CaptureFileSource_WindowsStayInsideTheirSegment()
    {
        // /proc/vmcore's windows never span two PT_LOADs nor cover bytes outside them (a capture
        // kernel refuses such mappings); those bytes still read right, through pread.
        var path = Path.GetTempFileName();
        try
        {
            var window = (int)CaptureFileSource.WindowSize;
            var bytes = new byte[window * 4];
            new Random(11).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            using var mapped = new CaptureFileSource(path, mapped: true);
            (long, long) first = (8192, window + 4096 * 5), second = (window + 4096 * 7, window * 3 + 4096);
            mapped.MapOnly([second, first]);
            Assert.False(mapped.TryPin(0, 4096, out _, out _));                       // before the first segment
            Assert.False(mapped.TryPin(window + 4096 * 5, 4096, out _, out _));      // between them
            Assert.False(mapped.TryPin(window + 4096 * 4, 8192, out _, out _));      // across the first one's end
            Assert.False(mapped.TryPin(window - 4096, 8192, out _, out _));          // across a window boundary
            Assert.True(mapped.TryPin(window + 4096 * 7, 4096 * 3, out var view, out var pin));
            Assert.True(view.SequenceEqual(bytes.AsSpan(window + 4096 * 7, 4096 * 3)));
            mapped.Unpin(pin!);
            var all = new byte[bytes.Length];
            Assert.Equal(all.Length, mapped.ReadAt(0, all));
            Assert.Equal(bytes, all);
            Assert.True(mapped.IsMapped);
            Assert.Null(mapped.MappingFailure);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingKeys_TurnTheirLevelOffAndAreNamed()
    {
        var info = VmcoreInfo.Parse("""
            SIZE(page)=64
            OFFSET(page.flags)=0
            OFFSET(page.mapping)=24
            OFFSET(page._mapcount)=48
            NUMBER(PG_lru)=4
            NUMBER(PG_swapcache)=10
            """);
        var rules = PageRules.From(info, DumpLevel.All);
        Assert.Equal(DumpLevel.Zero | DumpLevel.CachePrivate | DumpLevel.User, rules.Effective);
        Assert.Contains(rules.Problems, p => p.Contains("free pages") && p.Contains("OFFSET(page.private)") && p.Contains("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"));
        Assert.Contains(rules.Problems, p => p.Contains("non-private page cache") && p.Contains("NUMBER(PG_private)"));
    }

    [Theory]
    [InlineData(0xffffff7fu, 0xffffff7fu, true)]   // -129: PageBuddy before 6.12
    [InlineData(0xffffff7eu, 0xffffff7fu, false)]
    [InlineData(0xf0000005u, 0xf0000000u, true)]   // one-byte page type of 6.12+ with data below it
    [InlineData(0xf1000000u, 0xf0000000u, false)]
    public void PageTypes_CompareWholeWordsOrTheTypeByte(uint word, uint type, bool expected) =>
        Assert.Equal(expected, PageRules.IsType(word, type));
}
