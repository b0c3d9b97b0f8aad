// Every page kdx keeps reads back byte-identical to the input, whatever the compression, and
// every page it leaves out is one its 2nd bitmap clears.
using Kdx.Dump;
using Kdx.Dump.Compression;

namespace Kdx.Capture.Tests;

public class ContentTests
{
    [Theory]
    [InlineData("raw-elf", 31, KdumpFlags.Lzo)]
    [InlineData("raw-elf", 1, KdumpFlags.Zlib)]
    [InlineData("raw-elf", 17, KdumpFlags.Snappy)]
    [InlineData("raw-elf", 31, KdumpFlags.Zstd)]
    [InlineData("raw-elf", 31, KdumpFlags.None)]
    [InlineData("qemu-elf", 31, KdumpFlags.Lzo)]
    public void KeptPages_ReadBackIdentical(string input, int level, KdumpFlags method)
    {
        var path = CaptureLab.Kdx(input, level, method);
        var bitmaps = KdumpBitmaps.Read(path);
        Assert.Equal((uint)method, bitmaps.Status);
        using var dump = DumpFile.Open(path);
        using var source = VmcoreSource.Open(CaptureLab.Input(input));
        Assert.Equal(method == KdumpFlags.None ? "none" : PageCompression.Describe(method), dump.Compression);
        Assert.Equal(level, dump.DumpLevel);
        Assert.False(dump.IsIncomplete);
        var expected = new byte[dump.PageSize];
        var actual = new byte[dump.PageSize];
        ulong compared = 0, zero = 0;
        for (ulong pfn = 0; pfn < source.MaxMapnr; pfn++)
        {
            var state = dump.GetPageState(pfn);
            Assert.True(state.IsReadable() == KdumpBitmaps.Bit(bitmaps.Second, pfn), $"pfn 0x{pfn:x} is {state} but its 2nd-bitmap bit says otherwise");
            if (!state.IsReadable())
                continue;
            source.ReadPage(pfn, expected);
            dump.Read(pfn * (ulong)dump.PageSize, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"pfn 0x{pfn:x} ({state}) differs from the input");
            compared++;
            if (state == PageState.Zero)
                zero++;
        }
        Assert.True(compared > 10000, $"only {compared} pages compared");
        Assert.True((level & 1) == 0 || zero > 0, "dump level 1 found no zero page");
    }
}
