// NameIndex (the name lookup of kallsyms and BTF) against a plain grouping of the same names.
using CsCheck;

namespace Kdx.Kernel.Tests;

public class NameIndexTests
{
    [Fact]
    public void EveryPositionOfAName_InOrder_AsAGroupingFindsThem()
    {
        // few distinct names so they repeat, some empty or null (left out of the index)
        var names = Gen.OneOf(Gen.Const((string?)null), Gen.Const((string?)""), Gen.Int[0, 40].Select(n => (string?)$"sym{n}")).Array[0, 300];
        names.Sample(table =>
        {
            var index = new NameIndex(table.Length, i => table[i]);
            for (var n = -1; n <= 41; n++)
            {
                var name = $"sym{n}";
                var want = Enumerable.Range(0, table.Length).Where(i => table[i] == name).ToList();
                var got = new List<int>();
                foreach (var i in index.Of(name))
                    got.Add(i);
                Assert.Equal(want, got);
                Assert.Equal(want.Count == 0, index.Of(name).IsEmpty);
                if (want.Count > 0)
                    Assert.Equal(want[0], index.Of(name).First);
            }
            Assert.True(index.Of("").IsEmpty);
        }, iter: 500);
    }
}
