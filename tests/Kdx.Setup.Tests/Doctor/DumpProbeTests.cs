// Dumps already in a target: RHEL and Debian layouts, "-incomplete" names, and the signature
// probe that says whether the newest looks openable (replaceable by a full Kdx.Dump open).
using System.Buffers.Binary;
using System.Text;
using Kdx.Setup.Doctor;

namespace Kdx.Setup.Tests.Doctor;

public sealed class DumpProbeTests
{
    private static byte[] ElfCore(bool incomplete = false)
    {
        var b = new byte[64];
        "\u007fELF"u8.CopyTo(b);
        b[4] = 2; // ELFCLASS64
        b[5] = 1; // little endian
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 4); // ET_CORE
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(48), incomplete ? 1u : 0u);
        return b;
    }

    private static byte[] Kdump(uint status)
    {
        var b = new byte[4096];
        "KDUMP   "u8.CopyTo(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(424), status);
        return b;
    }

    [Fact]
    public void Signatures()
    {
        Assert.True(SignatureDumpProbe.Classify(ElfCore()).Openable);
        Assert.False(SignatureDumpProbe.Classify(ElfCore(incomplete: true)).Openable);
        Assert.True(SignatureDumpProbe.Classify(Kdump(0)).Openable);
        Assert.Contains("incomplete", SignatureDumpProbe.Classify(Kdump(0x8)).Detail);
        Assert.Equal("flattened", SignatureDumpProbe.Classify(Encoding.ASCII.GetBytes("makedumpfile\0\0\0\0")).Format);
        Assert.False(SignatureDumpProbe.Classify("hello world"u8).Openable);
        Assert.False(SignatureDumpProbe.Classify([]).Openable);
        var exec = ElfCore();
        exec[16] = 2; // ET_EXEC
        Assert.False(SignatureDumpProbe.Classify(exec).Openable);
        Assert.False(SignatureDumpProbe.Classify("\u007fELF"u8).Openable);
    }

    [Fact]
    public void Rhel_layout_newest_first_and_probe()
    {
        using var f = FixtureRoot.Ready(Layout.Rhel9);
        f.Bytes("/var/crash/127.0.0.1-2026-01-02-03:04:05/vmcore", Kdump(0))
            .File("/var/crash/127.0.0.1-2026-01-02-03:04:05/vmcore-dmesg.txt", "log")
            .Bytes("/var/crash/127.0.0.1-2025-12-31-23:59:59/vmcore", ElfCore())
            .Dir("/var/crash/lost+found");
        var dumps = ExistingDumps.Find(new RootedFileSystem(f.Root), "/var/crash");
        Assert.Equal(2, dumps.Count);
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), dumps[0].When);
        var r = f.Run()["target.dumps"]!;
        Assert.Equal(CheckStatus.Ok, r.Status);
        Assert.Contains("2 dump(s)", r.Message);
        Assert.Contains("kdump-compressed", r.Message);
    }

    [Fact]
    public void Debian_layout_incomplete_newest_warns()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.Bytes("/var/crash/202601010000/dump.202601010000", ElfCore())
            .Bytes("/var/crash/202602010000/dump-incomplete", Kdump(0x8))
            .Dir("/var/crash/kexec_cmd");
        var r = f.Run()["target.dumps"]!;
        Assert.Equal(CheckStatus.Warn, r.Status);
        Assert.Contains("incomplete", r.Message);
        Assert.Contains("2026-02-01 00:00", r.Message);
    }

    [Fact]
    public void Unreadable_newest_warns_and_probe_is_pluggable()
    {
        using var f = FixtureRoot.Ready(Layout.Debian12);
        f.File("/var/crash/202601010000/dump.202601010000", "not a dump at all");
        Assert.Equal(CheckStatus.Warn, f.Run()["target.dumps"]!.Status);
        var report = f.Run(probe: new AlwaysOpens());
        Assert.Equal(CheckStatus.Ok, report["target.dumps"]!.Status);
        Assert.Contains("opened by test probe", report["target.dumps"]!.Message);
    }

    private sealed class AlwaysOpens : IDumpProbe
    {
        public DumpProbeResult Probe(RootedFileSystem fs, string path) => new(true, "test", "opened by test probe");
    }
}
