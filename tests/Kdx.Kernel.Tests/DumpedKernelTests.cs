// The façade over one dump: without BTF it says why and still reads what VMCOREINFO allows.
using Kdx.Kernel.Log;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Log;

namespace Kdx.Kernel.Tests;

public class DumpedKernelTests
{
    [Fact]
    public void WithoutBtfTheLogIsReadAndTheGapExplained()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("no btf here", 7_000_000);
        var map = SystemMap.Parse(new StringReader("ffffffff81000000 T _stext\n"), "map");
        var kernel = new DumpedKernel(ring.Memory, RingBuilder.Info(), map);
        Assert.Null(kernel.Btf);
        Assert.Contains("CONFIG_DEBUG_INFO_BTF", kernel.BtfProblem);
        var r = Assert.Single(kernel.Log.Records);
        Assert.Null(r.Level);
        Assert.Equal("[    0.007000] no btf here\n", LogFormatter.Format(kernel.Log.Records));
        Assert.Same(map, kernel.Symbols);
    }
}
