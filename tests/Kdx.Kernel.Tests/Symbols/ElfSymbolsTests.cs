// ELF .symtab symbols against nm's listing of the same file (Debian 6.1 modules), and refusal of
// a stripped image.
using Kdx.Dump;
using Kdx.Kernel.Images;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests.Symbols;

public class ElfSymbolsTests
{
    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("fs/binfmt_misc.ko")]
    [InlineData("net/key/af_key.ko")]
    public void ModuleSymtabEqualsNm(string module)
    {
        var path = Path.Combine(Oracles.ModulesDir, module);
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
        using var image = ElfImage.Open(Oracles.Vmlinux);
        Assert.Contains("no .symtab", Assert.Throws<DumpFormatException>(() => ElfSymbols.Load(image)).Problem);
    }
}

public class DebugVmlinuxSymbolsTests(ITestOutputHelper output)
{
    [Fact]
    public void DebugVmlinuxSymtabCoversSystemMap()
    {
        using var image = ElfImage.Open(Oracles.DebugVmlinux);
        var elf = ElfSymbols.Load(image, 0x2a00000);
        var map = SystemMap.Load(Oracles.SystemMap, 0x2a00000);
        var symtab = elf.Symbols.Select(s => (s.Name, s.Address, s.Type)).ToHashSet();
        var missing = map.Symbols.Where(s => !symtab.Contains((s.Name, s.Address, s.Type))).Take(10).ToList();
        Assert.True(missing.Count == 0, string.Join('\n', missing));
        // System.map is nm's listing without export bookkeeping, compiler-local labels and absolute locals (scripts/mksysmap).
        output.WriteLine($".symtab {elf.Count}, System.map {map.Count}");
        var inMap = map.Symbols.Select(s => (s.Name, s.Address, s.Type)).ToHashSet();
        var unexplained = elf.Symbols.Where(s => !inMap.Contains((s.Name, s.Address, s.Type))
            && !s.Name.StartsWith("__kstrtab_", StringComparison.Ordinal) && !s.Name.StartsWith("__kstrtabns_", StringComparison.Ordinal)
            && !s.Name.StartsWith("__crc_", StringComparison.Ordinal) && !s.Name.StartsWith(".L", StringComparison.Ordinal) && s.Type != 'a').Take(10).ToList();
        Assert.True(unexplained.Count == 0, string.Join('\n', unexplained));
        Assert.Equal(map.Lookup("panic"), elf.Lookup("panic"));
    }
}
