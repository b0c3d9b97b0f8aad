// ELF .symtab symbols against nm's listing of the same file (Debian 6.1 modules), and refusal of
// a stripped image.
using Kdx.Dump;
using Kdx.Kernel.Images;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests.Symbols;

public class ElfSymbolsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("fs/binfmt_misc.ko")]
    [InlineData("net/key/af_key.ko")]
    public void ModuleSymtabEqualsNm(string module)
    {
        var path = Path.Combine(Oracles.ModulesDir, module);
        if (!File.Exists(path) || Oracles.Which("nm") is null)
        {
            output.WriteLine($"skipped: needs {path} and nm");
            return;
        }
        using var image = ElfImage.Open(path);
        var table = ElfSymbols.Load(image);
        var expected = new HashSet<(string, ulong, char)>();
        foreach (var line in Oracles.Run("nm", path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 3) // "value type name"; undefined ones have no value
                expected.Add((parts[2], Convert.ToUInt64(parts[0], 16), parts[1][0]));
        }
        var actual = table.Symbols.Select(s => (s.Name, s.Address, s.Type)).ToHashSet();
        Assert.Empty(expected.Except(actual).Take(10));
        Assert.Empty(actual.Except(expected).Take(10));
        Assert.True(expected.Count > 10);
    }

    [Fact]
    public void StrippedImageIsRefused()
    {
        if (!Oracles.Available(Oracles.Vmlinux))
        {
            output.WriteLine("skipped: needs fetch-oracles.sh's vmlinux");
            return;
        }
        using var image = ElfImage.Open(Oracles.Vmlinux);
        Assert.Contains("no .symtab", Assert.Throws<DumpFormatException>(() => ElfSymbols.Load(image)).Problem);
    }
}
