// Crash signatures: the same scenario booted twice (a new KASLR offset, other PIDs, possibly
// another CPU) gives the same hash; different scenarios give different ones. Plus the
// normalisation rules on their own.
using Kdx.Lab;

namespace Kdx.Triage.Tests;

[Trait("Category", "Lab")]
public class SignatureTests
{
    public static TheoryData<CrashKind> TwiceBooted => [CrashKind.Oops, CrashKind.Sysrq, CrashKind.Hung, CrashKind.Softlockup];

    [Theory]
    [MemberData(nameof(TwiceBooted))]
    public void Two_boots_of_one_scenario_give_the_same_signature(CrashKind kind)
    {
        var first = TriageLab.Report(TriageLab.Kind(kind));
        var second = TriageLab.Report(TriageLab.Kind(kind, boot: 1));
        // The boots really differ where a naive signature would: kernel text moved (KASLR) and the
        // backtrace's addresses with it.
        Assert.NotEqual(first.Backtrace!.Frames[^1].Ip, second.Backtrace!.Frames[^1].Ip);
        Assert.Equal(first.Signature.Text, second.Signature.Text);
        Assert.Equal(first.Signature.Hash, second.Signature.Hash);
        Assert.DoesNotContain("0x", first.Signature.Text);
        Assert.DoesNotContain("+", first.Signature.Text);
    }

    [Fact]
    public void Different_scenarios_give_different_signatures()
    {
        var kinds = Enum.GetValues<CrashKind>().Where(k => k != CrashKind.Script).ToList();
        var hashes = kinds.ToDictionary(k => k, k => TriageLab.Report(TriageLab.Kind(k)).Signature.Hash);
        Assert.Equal(kinds.Count, hashes.Values.Distinct().Count());
        Assert.All(hashes.Values, h => Assert.Matches("^[0-9a-f]{12}$", h));
    }

    [Theory]
    [InlineData("__handle_sysrq.cold", "__handle_sysrq")]
    [InlineData("__alloc_pages_slowpath.constprop.0", "__alloc_pages_slowpath")]
    [InlineData("tcp_ack.isra.0.part.1", "tcp_ack")]
    [InlineData("foo.llvm.1234567", "foo")]
    [InlineData("vfs_write", "vfs_write")]
    public void Clone_suffixes_are_removed(string function, string normalized) =>
        Assert.Equal(normalized, CrashSignatures.Normalize(function));
}
