// Synthetic checks of the pieces crash's ps/sys/kmem/struct output is built from: state names
// from state bits, crash's size text, and a struct decoded across a page the dump lacks.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Objects;
using Kdx.Kernel.Summary;
using Kdx.Kernel.Tasks;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Tasks;

public class TaskAndSummaryTests
{
    [Theory]
    [InlineData(0x0UL, 0x0UL, "RU")]
    [InlineData(0x1UL, 0x0UL, "IN")]
    [InlineData(0x2UL, 0x0UL, "UN")]
    [InlineData(0x402UL, 0x0UL, "ID")] // TASK_IDLE = UNINTERRUPTIBLE | NOLOAD
    [InlineData(0x4UL, 0x0UL, "ST")]
    [InlineData(0x8UL, 0x0UL, "TR")]
    [InlineData(0x40UL, 0x0UL, "PA")]
    [InlineData(0x80UL, 0x20UL, "ZO")] // exit_state wins
    [InlineData(0x80UL, 0x10UL, "DE")]
    [InlineData(0x200UL, 0x0UL, "WA")]
    [InlineData(0x800UL, 0x0UL, "NE")]
    public void StateNames(ulong state, ulong exit, string expected) => Assert.Equal(expected, TaskStates.Name(state, exit));

    [Theory]
    [InlineData(0UL, "0")]
    [InlineData(512UL * 1024, "512 KB")]
    [InlineData(832UL * 4096, "3.2 MB")] // 3.25: printf rounds the half to even
    [InlineData(5090UL * 4096, "19.9 MB")]
    [InlineData(4099UL * 4096, "16 MB")]
    [InlineData(1UL << 30, "1 GB")]
    public void SizesPrintAsCrashPrintsThem(ulong bytes, string expected) => Assert.Equal(expected, SizeText.Format(bytes));

    [Fact]
    public void StructMembersOnAMissingPageSayExcludedAndTheRestIsDecoded()
    {
        var b = new BtfBuilder();
        var u32 = b.Int("unsigned int", 4, 32);
        var s32 = b.Int("int", 4, 32, BtfIntEncoding.Signed);
        var chr = b.Int("char", 1, 8, BtfIntEncoding.Signed);
        var idx = b.Int("__ARRAY_SIZE_TYPE__", 4, 32);
        var name = b.Array(chr, idx, 8);
        b.Struct("thing", 0x1010, ("state", u32, 0, 0), ("pid", s32, 32, 0), ("name", name, 64, 0), ("far", u32, 0x1000 * 8, 0));
        var btf = BtfTypes.Parse(b.Build());
        var memory = new SparseMemory();
        const ulong At = 0xffff888000001000;
        memory.Map(At, 0x1000); // the second page (member "far") is not in the dump
        memory.WriteU32(At, 2);
        memory.WriteU32(At + 4, unchecked((uint)-5));
        memory.WriteString(At + 8, "kdx");
        var (title, size, members) = new StructView(btf, memory).Describe("thing", At);
        Assert.Equal("struct thing", title);
        Assert.Equal(0x1010UL, size);
        Assert.Equal(["2", "-5", "\"kdx\"", StructView.Excluded], members.Select(m => m.Value));
        Assert.Equal("char [8]", members[2].TypeName);
    }
}
