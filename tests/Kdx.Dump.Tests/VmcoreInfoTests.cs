using System.Text;
using Kdx.Dump;

namespace Kdx.Dump.Tests;

public class VmcoreInfoTests
{
    private const string Sample =
        "OSRELEASE=6.1.0-56-amd64\nBUILD-ID=abc123\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff9a816a20\n" +
        "OFFSET(uts_namespace.name)=4\nSIZE(page)=64\nLENGTH(free_area)=11\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n" +
        "NUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=18600000\nCRASHTIME=1763866800\n";

    [Fact]
    public void TypedLookups()
    {
        var vi = VmcoreInfo.Parse(Encoding.ASCII.GetBytes(Sample + "\0garbage"));
        Assert.Equal("6.1.0-56-amd64", vi.OsRelease);
        Assert.Equal(4096UL, vi.PageSize);
        Assert.Equal(0xffffffff9a816a20UL, vi.Symbol("init_uts_ns"));
        Assert.Equal(4UL, vi.Offset("uts_namespace", "name"));
        Assert.Equal(64UL, vi.Size("page"));
        Assert.Equal(11UL, vi.Length("free_area"));
        Assert.Equal(-129L, vi.Number("PAGE_BUDDY_MAPCOUNT_VALUE"));
        Assert.Equal(0x18600000UL, vi.KernelOffset);
        Assert.Equal(1763866800L, vi.CrashTime);
        Assert.Null(vi.Symbol("missing"));
        Assert.Equal(11, vi.Entries.Count);
    }

    [Fact]
    public void MalformedValuesAreAbsentNotErrors()
    {
        var vi = VmcoreInfo.Parse("SYMBOL(x)=zz\nOFFSET(a.b)=-1\n=novalue\nnoequals\n");
        Assert.Null(vi.Symbol("x"));
        Assert.Null(vi.Offset("a", "b"));
    }
}
