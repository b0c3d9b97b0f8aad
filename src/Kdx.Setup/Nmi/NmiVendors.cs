// Known BMC/hypervisor NMI event codes per platform, and matching them against this machine's DMI identity.
using System.Text.RegularExpressions;

namespace Kdx.Setup.Nmi;

/// <summary>
/// One row of the known-code table. <paramref name="Vendor"/> and <paramref name="Product"/> are
/// regular expressions over /sys/class/dmi/id/sys_vendor and product_name (null matches anything).
/// </summary>
public sealed record NmiVendorEntry(string Platform, string? Vendor, string? Product, NmiCodeSet Codes, string Source, string? Note = null)
{
    public bool Matches(DmiIdentity id) =>
        (Vendor is null || Regex.IsMatch(id.SysVendor, Vendor, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)) &&
        (Product is null || Regex.IsMatch(id.ProductName, Product, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));

    /// <summary>More specific rows (with a product pattern) come first when several match.</summary>
    public bool IsModelSpecific => Product is not null;
}

/// <summary>The machine's DMI strings, as read from /sys/class/dmi/id.</summary>
public sealed record DmiIdentity(string SysVendor, string ProductName)
{
    public static DmiIdentity? Read(string root)
    {
        var dir = Path.Combine(root, "sys/class/dmi/id");
        var vendor = ReadLine(Path.Combine(dir, "sys_vendor"));
        var product = ReadLine(Path.Combine(dir, "product_name"));
        return vendor is null && product is null ? null : new(vendor ?? "", product ?? "");
    }

    private static string? ReadLine(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public override string ToString() => $"{SysVendor} {ProductName}".Trim();
}

/// <summary>What the table says about one machine.</summary>
public sealed record NmiVendorMatch(DmiIdentity Machine, IReadOnlyList<NmiVendorEntry> Entries)
{
    /// <summary>True when matching rows list different codes (nmimgr 0.4's README and setup.sh disagree for Dell).</summary>
    public bool Disagree => Entries.Select(e => e.Codes).Distinct().Count() > 1;

    /// <summary>The codes of the most specific row, the one to try first.</summary>
    public NmiCodeSet? Suggested => Entries.Count == 0 ? null : Entries[0].Codes;
}

public static class NmiVendors
{
    private const string SetupSh = "nmimgr 0.4 setup.sh";
    private const string Readme = "nmimgr 0.4 README";
    private const string Dell = "^Dell";
    private const string Hp = "^(HPE?|Hewlett[- ]Packard)";
    private const string Ibm = "^IBM";

    /// <summary>
    /// The known codes. Dell generations follow the model number (R710: generation 11, from the
    /// digit after the first); the two nmimgr 0.4 sources disagree and both are kept.
    /// </summary>
    public static IReadOnlyList<NmiVendorEntry> Table { get; } =
    [
        new("Dell PowerEdge x9xx (9th gen: 1950, 2950, ...)", Dell, @"PowerEdge \d9\d\d\b", NmiCodeSet.Of(48), SetupSh),
        new("Dell PowerEdge 10th-13th gen (R200 ... R730)", Dell, @"PowerEdge [A-Z]{1,2}\d[0-3]\d", NmiCodeSet.Of(40, 41, 56, 57), SetupSh),
        new("Dell PowerEdge 14th gen (R640, R740, ...)", Dell, @"PowerEdge [A-Z]{1,2}\d4\d", NmiCodeSet.Of(32, 48), SetupSh),
        new("HP ProLiant BL/ML/DL Gen8, Gen9", Hp, @"ProLiant [BMD]L\S* Gen(8|9)\b", NmiCodeSet.Of(39, 43), SetupSh),
        new("IBM iDataPlex", Ibm, "iDataPlex", NmiCodeSet.Of(44, 60), SetupSh),
        new("VirtualBox", "^innotek", "VirtualBox", NmiCodeSet.Of(0, 16, 32, 48), SetupSh),
        new("HP/HPE with iLO", Hp, null, NmiCodeSet.Of(32, 48), Readme),
        new("Dell with iDRAC", Dell, null, NmiCodeSet.Of(32, 33, 48, 49), Readme),
        new("IBM", Ibm, null, NmiCodeSet.Of(44, 60), Readme),
        new("VirtualBox", "^innotek", null, NmiCodeSet.Of(0, 16, 32, 48), Readme),
        new("QEMU/KVM (monitor nmi, virsh inject-nmi)", "^QEMU", null, NmiCodeSet.Of(33), "kdx lab",
            "the code is port 0x61's state (0x00/0x10/0x20/0x30 plus low bits): it varies, 33 was seen; run kdx nmi discover"),
    ];

    public static NmiVendorMatch Match(DmiIdentity machine)
    {
        var hits = Table.Where(e => e.Matches(machine)).OrderByDescending(e => e.IsModelSpecific).ToList();
        return new(machine, hits);
    }
}
