using Kdx.Lab;

namespace Kdx.Lab.Tests;

public class ScenarioTests
{
    private static Scenario Make(params string[] captures) => new()
    {
        Kernel = "6.1.0-56-amd64",
        Crash = CrashKind.Sysrq,
        Captures = captures.Select(CaptureSpec.Parse).ToList(),
    };

    [Theory]
    [InlineData("qemu-elf", "qemu-elf", false)]
    [InlineData("qemu-kdump-zlib", "qemu-kdump-zlib", false)]
    [InlineData("kdump-mdf:-l,-d,31", "kdump-mdf-l-d31", false)]
    [InlineData("kdump-mdf:-F -c -d 1", "kdump-mdf-F-c-d1", true)]
    [InlineData("kdump-mdf:--split,-l,-d,31", "kdump-mdf-split-l-d31", false)]
    [InlineData("kdump-cat", "kdump-cat", false)]
    [InlineData("kdump-kdx:-l,-d,31", "kdump-kdx-l-d31", false)]
    [InlineData("kdump-kdx:-F,-c,-d,31", "kdump-kdx-F-c-d31", true)]
    [InlineData("kdump-kdx:--split,-l,-d,31", "kdump-kdx-split-l-d31", false)]
    public void CaptureIdsAreStableAndFileSafe(string text, string id, bool flattened)
    {
        var c = CaptureSpec.Parse(text);
        Assert.Equal(id, c.Id);
        Assert.Equal(flattened, c.IsFlattened);
        Assert.DoesNotContain(' ', c.Id);
        Assert.Equal(c, CaptureSpec.Parse(c.ToString()));
    }

    [Theory]
    [InlineData("qemu-elf:-z")]
    [InlineData("kdump-mdf")]
    [InlineData("kdump-mdf:-l,/proc/vmcore")]
    [InlineData("ftp")]
    [InlineData("kdump-kdx")]
    public void BadCapturesAreRejected(string text) => Assert.Throws<LabException>(() => CaptureSpec.Parse(text));

    [Fact]
    public void KdumpAndQemuCapturesDoNotMix() =>
        Assert.Contains("not both", Assert.Throws<LabException>(() => Make("qemu-elf", "kdump-cat").Validate()).Message);

    [Fact]
    public void KdxCollectorNeedsTheKdxBinary()
    {
        Assert.Contains("--file PATH:kdx", Assert.Throws<LabException>(() => Make("kdump-kdx:-l,-d,31").Validate()).Message);
        (Make("kdump-kdx:-l,-d,31") with { ExtraFiles = [new ExtraFile("/tmp/kdx", "kdx")] }).Validate();
    }

    [Fact]
    public void CrashKernelMustFitTheGuest() =>
        Assert.Throws<LabException>(() => (Make("kdump-cat") with { RamMiB = 384, CrashKernelMiB = 256 }).Validate());

    [Fact]
    public void ScriptNeedsAFileAndOnlyScriptTakesOne()
    {
        Assert.Throws<LabException>(() => (Make("qemu-elf") with { Crash = CrashKind.Script }).Validate());
        Assert.Throws<LabException>(() => (Make("qemu-elf") with { ScriptPath = "/x.sh" }).Validate());
    }

    [Fact]
    public void KernelReleaseIsChecked() =>
        Assert.Throws<LabException>(() => (Make("qemu-elf") with { Kernel = "default; rm -rf /" }).Validate());

    [Fact]
    public void CacheNameFollowsEveryInput()
    {
        var a = Make("qemu-elf");
        Assert.Equal(a.Canonical(), Make("qemu-elf").Canonical());
        var variants = new[]
        {
            a with { RamMiB = 2048 }, a with { Cpus = 4 }, a with { Kaslr = false }, a with { La57 = true },
            a with { Crash = CrashKind.Nmi }, Make("qemu-kdump-zlib"), a with { Kernel = "6.1.0-55-amd64" },
        };
        foreach (var v in variants)
            Assert.NotEqual(a.Canonical(), v.Canonical());
        Assert.StartsWith("6.1.0-56-amd64_sysrq_qemu-elf_1024m2c_", a.CacheName("0123456789abcdef"));
        Assert.Contains("-nokaslr-la57", (a with { Kaslr = false, La57 = true }).CacheName("0123456789abcdef"));
    }

    [Fact]
    public void A_further_boot_is_its_own_cache_entry_and_boot_0_keeps_the_old_key()
    {
        var a = Make("qemu-kdump-zlib");
        Assert.DoesNotContain("boot", a.Canonical()); // existing cache entries keep their names
        Assert.Equal(a.Canonical(), (a with { Boot = 0 }).Canonical());
        Assert.NotEqual(a.Canonical(), (a with { Boot = 1 }).Canonical());
        Assert.NotEqual((a with { Boot = 1 }).Canonical(), (a with { Boot = 2 }).Canonical());
        Assert.Contains("1024m2c-boot1_", (a with { Boot = 1 }).CacheName("0123456789abcdef"));
        Assert.Throws<LabException>(() => (a with { Boot = -1 }).Validate());
    }

    [Theory]
    [InlineData("6.1.0-56-amd64", "amd64")]
    [InlineData("6.1.0-56-cloud-amd64", "cloud-amd64")]
    [InlineData("6.1.0-47-rt-amd64", "rt-amd64")]
    public void FlavorComesFromTheRelease(string release, string flavor) => Assert.Equal(flavor, Scenario.FlavorOf(release));

    [Fact]
    public void UnknownCrashKindIsRejected() =>
        Assert.Throws<LabException>(() => ScenarioOptions.Create("6.1.0-56-amd64", "meltdown", ["qemu-elf"]));
}
