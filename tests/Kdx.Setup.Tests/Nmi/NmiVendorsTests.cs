// Tests for the known NMI code table and its matching against DMI vendor and product strings.
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiVendorsTests
{
    [Theory]
    [InlineData("Dell Inc.", "PowerEdge 2950", "Dell PowerEdge x9xx", "48")]
    [InlineData("Dell Inc.", "PowerEdge R730xd", "Dell PowerEdge 10th-13th gen", "40-41,56-57")]
    [InlineData("Dell Inc.", "PowerEdge R610", "Dell PowerEdge 10th-13th gen", "40-41,56-57")]
    [InlineData("Dell Inc.", "PowerEdge R740", "Dell PowerEdge 14th gen", "32,48")]
    [InlineData("Dell Inc.", "PowerEdge R6415", "Dell PowerEdge 14th gen", "32,48")]
    [InlineData("HP", "ProLiant DL380p Gen8", "HP ProLiant BL/ML/DL Gen8, Gen9", "39,43")]
    [InlineData("HPE", "ProLiant BL460c Gen9", "HP ProLiant BL/ML/DL Gen8, Gen9", "39,43")]
    [InlineData("IBM", "System x iDataPlex dx360 M4 -[7912AC1]-", "IBM iDataPlex", "44,60")]
    [InlineData("innotek GmbH", "VirtualBox", "VirtualBox", "0,16,32,48")]
    [InlineData("HPE", "ProLiant DL380 Gen10", "HP/HPE with iLO", "32,48")]
    [InlineData("Dell Inc.", "PowerEdge R760", "Dell with iDRAC", "32-33,48-49")]
    [InlineData("QEMU", "Standard PC (i440FX + PIIX, 1996)", "QEMU/KVM", "33")]
    public void Most_specific_match_comes_first(string vendor, string product, string platform, string codes)
    {
        var m = NmiVendors.Match(new DmiIdentity(vendor, product));
        Assert.StartsWith(platform, m.Entries[0].Platform);
        Assert.Equal(codes, m.Suggested!.Value.ToString());
    }

    [Fact]
    public void Dell_sources_disagree_and_say_so()
    {
        var m = NmiVendors.Match(new DmiIdentity("Dell Inc.", "PowerEdge R630"));
        Assert.Equal(2, m.Entries.Count);
        Assert.True(m.Disagree);
    }

    [Fact]
    public void Unknown_machine_has_no_match()
    {
        var m = NmiVendors.Match(new DmiIdentity("Supermicro", "X11DPi-N"));
        Assert.Empty(m.Entries);
        Assert.Null(m.Suggested);
    }

    [Fact]
    public void Identity_is_read_from_dmi_files_under_the_root()
    {
        using var root = new TempRoot();
        root.File("sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
        root.File("sys/class/dmi/id/product_name", "PowerEdge R740\n");
        Assert.Equal(new DmiIdentity("Dell Inc.", "PowerEdge R740"), DmiIdentity.Read(root.Path));
        using var empty = new TempRoot();
        Assert.Null(DmiIdentity.Read(empty.Path));
    }
}
