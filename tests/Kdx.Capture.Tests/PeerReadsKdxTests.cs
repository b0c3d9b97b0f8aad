// makedumpfile 1.7.2 (real liblzo2, zlib) reads kdx's output: re-filtering it reads and
// decompresses every kept page, and its kernel-log text equals what it gets from the input.
// Sizes stay within 2% of makedumpfile's for the same compression and level.
using Kdx.Dump.Compression;

namespace Kdx.Capture.Tests;

public class PeerReadsKdxTests
{
    [Theory]
    [InlineData(KdumpFlags.Lzo)]
    [InlineData(KdumpFlags.Zlib)]
    [InlineData(KdumpFlags.Snappy)]
    [InlineData(KdumpFlags.Zstd)]
    public void Makedumpfile_RefiltersKdxOutput(KdumpFlags method)
    {
        var kdx = CaptureLab.Kdx("raw-elf", 31, method);
        var again = CaptureLab.TempPath($"refiltered-{method}");
        File.Delete(again);
        var (code, output) = CaptureLab.Run("makedumpfile", "-l", "-d", "31", kdx, again);
        if (method is KdumpFlags.Snappy or KdumpFlags.Zstd)
        {
            // Debian 12's makedumpfile is built without snappy and zstd: it must say so, not misread.
            Assert.NotEqual(0, code);
            return;
        }
        Assert.True(code == 0, output);
        Assert.Equal(KdumpBitmaps.Read(kdx).Second, KdumpBitmaps.Read(again).Second);
    }

    [Theory]
    [InlineData(KdumpFlags.Lzo)]
    [InlineData(KdumpFlags.Zlib)]
    public void Makedumpfile_DumpDmesg_OfKdxOutput_EqualsInputs(KdumpFlags method)
    {
        var fromInput = CaptureLab.TempPath("dmesg-input.txt");
        var fromKdx = CaptureLab.TempPath($"dmesg-kdx-{method}.txt");
        File.Delete(fromInput);
        File.Delete(fromKdx);
        var a = CaptureLab.Run("makedumpfile", "--dump-dmesg", CaptureLab.RawElf, fromInput);
        var b = CaptureLab.Run("makedumpfile", "--dump-dmesg", CaptureLab.Kdx("raw-elf", 31, method), fromKdx);
        Assert.True(a.Code == 0 && b.Code == 0, a.Output + b.Output);
        var text = File.ReadAllText(fromKdx);
        Assert.Contains("sysrq", text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(File.ReadAllText(fromInput), text);
    }

    [Theory]
    [InlineData(1, KdumpFlags.Lzo, "-l")]
    [InlineData(31, KdumpFlags.Lzo, "-l")]
    [InlineData(1, KdumpFlags.Zlib, "-c")]
    [InlineData(31, KdumpFlags.Zlib, "-c")]
    public void Size_IsWithinTwoPercentOfMakedumpfiles(int level, KdumpFlags method, string option)
    {
        var kdx = new FileInfo(CaptureLab.Kdx("raw-elf", level, method)).Length;
        var mdf = new FileInfo(CaptureLab.Makedumpfile("raw-elf", level, option)).Length;
        var ratio = (double)kdx / mdf;
        Assert.True(Math.Abs(ratio - 1) <= 0.02, $"kdx {kdx} bytes, makedumpfile {mdf} bytes: ratio {ratio:0.0000}");
    }

    [Theory]
    [InlineData(31, KdumpFlags.Lzo, "-l")]
    [InlineData(1, KdumpFlags.Lzo, "-l")]
    [InlineData(31, KdumpFlags.Zlib, "-c")]
    [InlineData(1, KdumpFlags.Zlib, "-c")]
    public void WithTheSystemLibraries_OutputIsMakedumpfilesByteForByte(int level, KdumpFlags method, string option)
    {
        // On a real /proc/vmcore, with the libz/liblzo2 makedumpfile 1.7.2 itself uses, every header
        // field, bitmap, descriptor and compressed page comes out as makedumpfile writes it.
        Assert.StartsWith("system ", PageCompressor.Implementation(method));
        var kdx = File.ReadAllBytes(CaptureLab.Kdx("raw-elf", level, method));
        var mdf = File.ReadAllBytes(CaptureLab.Makedumpfile("raw-elf", level, option));
        Assert.Equal(mdf.Length, kdx.Length);
        var diff = kdx.AsSpan().CommonPrefixLength(mdf);
        Assert.True(diff == kdx.Length, $"first difference at byte {diff}");
    }
}
