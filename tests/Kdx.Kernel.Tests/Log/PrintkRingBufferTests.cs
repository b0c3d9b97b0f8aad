// The lockless ring read back from a synthetic kernel layout: record fields, descriptor states,
// wrapped data blocks, id and lpos wrap-around, retired records, and crash-identical text.
using Kdx.Dump;
using Kdx.Kernel.Log;

namespace Kdx.Kernel.Tests.Log;

public class PrintkRingBufferTests
{
    private static KernelLog Read(RingBuilder ring, bool withBtf = true) =>
        KernelLog.Read(ring.Memory, new KernelLayout(RingBuilder.Info(), withBtf ? RingBuilder.Btf() : null));

    [Fact]
    public void RecordsCarryEveryField()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("Linux version 6.1.0-test", 0, level: 5, caller: 0);
        ring.Add("virtio_blk virtio1: [vda] 2097152 512-byte logical blocks", 1_234_567_890, level: 6, facility: 0,
            caller: 0x80000001, subsystem: "virtio", device: "+virtio:virtio1");
        var log = Read(ring);
        Assert.Equal(LogBufferKind.LocklessRing, log.Kind);
        Assert.Equal(2, log.Records.Count);
        var r = log.Records[1];
        Assert.Equal(1UL, r.Sequence);
        Assert.Equal(1_234_567_890UL, r.TimestampNs);
        Assert.Equal(6, r.Level);
        Assert.Equal(0, r.Facility);
        Assert.True(r.CallerIsCpu);
        Assert.Equal("C1", r.Caller);
        Assert.Equal("virtio", r.Subsystem);
        Assert.Equal("+virtio:virtio1", r.Device);
        Assert.Equal(5, log.Records[0].Level);
        Assert.Equal("T0", log.Records[0].Caller);
    }

    [Fact]
    public void WithoutBtfLevelIsUnknownButTextIsRead()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("hello", 5);
        var r = Assert.Single(Read(ring, withBtf: false).Records);
        Assert.Null(r.Level);
        Assert.Equal("hello", r.Text);
    }

    [Fact]
    public void GoldenCrashLogText()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("Linux version 6.1.0-56-amd64", 0);
        ring.Add("Kernel panic - not syncing: sysrq triggered crash\nCPU: 0 PID: 1 Comm: sh", 12_345_678_901, level: 0);
        ring.Add("bad\u0001bytes\u007f\u00e9\ttab", 123_456_000_999_999);
        var text = LogFormatter.Format(Read(ring).Records);
        Assert.Equal(
            "[    0.000000] Linux version 6.1.0-56-amd64\n" +
            "[   12.345678] Kernel panic - not syncing: sysrq triggered crash\n" +
            "               CPU: 0 PID: 1 Comm: sh\n" +
            "[123456.000999] bad.bytes..\ttab\n", text);

        var withLevel = LogFormatter.Format(Read(ring).Records, new LogFormatOptions { ShowLevel = true });
        Assert.Equal(
            "[    0.000000] <6>Linux version 6.1.0-56-amd64\n" +
            "[   12.345678] <0>Kernel panic - not syncing: sysrq triggered crash\n" +
            "                  CPU: 0 PID: 1 Comm: sh\n" +
            "[123456.000999] <6>bad.bytes..\ttab\n", withLevel);
    }

    [Fact]
    public void GoldenCallerHumanTimeAndDeviceInfo()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("systemd[1]: started", 3_500_000_000, caller: 1);
        ring.Add("nmi", 4_000_000_000, caller: 0x80000003, subsystem: "pci", device: "+pci:0000:00:1f.0");
        var records = Read(ring).Records;
        Assert.Equal(
            "[    3.500000] [    T1] systemd[1]: started\n" +
            "[    4.000000] [    C3] nmi\n",
            LogFormatter.Format(records, new LogFormatOptions { CallerWidth = 6 }));
        Assert.Equal(
            "[Mon Nov 23 02:00:03 UTC 2026] systemd[1]: started\n" +
            "[Mon Nov 23 02:00:04 UTC 2026] nmi\n" +
            "                               SUBSYSTEM=pci\n" +
            "                               DEVICE=+pci:0000:00:1f.0\n",
            LogFormatter.Format(records, new LogFormatOptions
            {
                BootTime = new DateTimeOffset(2026, 11, 23, 2, 0, 0, TimeSpan.Zero),
                ShowDeviceInfo = true,
            }));
        Assert.Equal("Mon Nov  2 09:05:01 UTC 2026", LogFormatter.CTime(new DateTimeOffset(2026, 11, 2, 9, 5, 1, TimeSpan.Zero)));
    }

    [Fact]
    public void WrappedBlocksAndWrappedIdsReadBackInOrder()
    {
        // 16 descriptors, 256 bytes of text: the data wraps many times and ids pass 2^62.
        var ring = new RingBuilder(4, 8);
        var written = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var text = $"message {i} " + new string((char)('a' + i % 26), i % 37);
            written.Add(text);
            ring.Add(text, (ulong)i * 1_000_000);
        }
        var records = Read(ring).Records;
        var live = ring.LiveIds.Count;
        Assert.InRange(live, 2, 16);
        Assert.Equal(written.Skip(written.Count - live), records.Select(r => r.Text));
        Assert.Equal(Enumerable.Range(100 - live, live).Select(i => (ulong)i), records.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(100 - live, live).Select(i => (ulong)i * 1_000_000), records.Select(r => r.TimestampNs));
    }

    [Fact]
    public void ABlockThatDoesNotFitAtTheEndIsReadFromTheStart()
    {
        var ring = new RingBuilder(4, 8);
        ring.Add(new string('x', 100), 1); // lpos -256 .. -144
        ring.Add(new string('y', 100), 2); // -144 .. -32
        ring.Add("this one wraps to index 0", 3); // 40 bytes do not fit in the last 32: stored at 0
        var records = Read(ring).Records;
        Assert.Equal("this one wraps to index 0", records[^1].Text);
        Assert.Equal(new string('y', 100), records[^2].Text);
    }

    [Fact]
    public void DescriptorStatesDecideWhatIsShown()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("finalized", 1);
        ring.Add("committed, may still be extended", 2, state: 1);
        var reserved = ring.Add("reserved: writer still busy", 3, state: 0);
        var reusable = ring.Add("reusable: already freed", 4);
        ring.WriteState(reusable, 3);
        ring.Add("last", 5);
        Assert.Equal(["finalized", "committed, may still be extended", "last"], Read(ring).Records.Select(r => r.Text));
        _ = reserved;
    }

    [Fact]
    public void AReusedSlotWithAnotherIdIsSkipped()
    {
        var ring = new RingBuilder(4, 10);
        var first = ring.Add("first", 1);
        ring.Add("second", 2);
        ring.WriteState(first, 2);
        // The descriptor now claims a different id, as when a writer has taken the slot over.
        ring.Memory.WriteU64(RingBuilder.DescsAt + (first % 16) * 40 + 8, (2UL << 62) | ((first + 16) & ~(3UL << 62)));
        Assert.Equal(["second"], Read(ring).Records.Select(r => r.Text));
    }

    [Fact]
    public void DatalessRecordsPrintAsCrashDoes()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("before", 1);
        ring.AddDataless(3, 2); // EMPTY_LINE_LPOS: a real empty line
        ring.AddDataless(1, 3); // FAILED_LPOS: the text was lost
        ring.Add("after", 4);
        var records = Read(ring).Records;
        Assert.Equal(4, records.Count);
        Assert.True(records[1].Dataless);
        Assert.False(records[1].TextMissing);
        Assert.True(records[2].TextMissing);
        Assert.Equal("[    0.000000] before\n\n\n[    0.000000] after\n", LogFormatter.Format(records));
    }

    [Fact]
    public void ExcludedTextPagesCostOnlyTheirRecords()
    {
        var ring = new RingBuilder(4, 13); // two 4 KiB pages of text
        ring.Add(new string('a', 4090), 1); // 4104 bytes with id and padding: the next block starts on page 2
        ring.Add("on the second page", 2);
        var memory = new HoleyMemory(ring.Memory, RingBuilder.DataAt, 0x1000);
        var records = KernelLog.Read(memory, new KernelLayout(RingBuilder.Info())).Records;
        Assert.True(records[0].TextMissing);
        Assert.Equal("on the second page", records[1].Text);
        Assert.StartsWith("[    0.000000] (text not in dump)\n", LogFormatter.Format(records));
    }

    [Fact]
    public void HostileRingGeometryIsAFormatError()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("x", 1);
        ring.Memory.WriteU32(RingBuilder.RingAt + 8 + 4, 40); // count_bits = 40
        Assert.Contains("count_bits", Assert.Throws<DumpFormatException>(() => Read(ring)).Problem);
        ring = new RingBuilder(4, 10);
        ring.Memory.WriteU32(RingBuilder.RingAt + 80, 60); // size_bits = 60
        Assert.Contains("size_bits", Assert.Throws<DumpFormatException>(() => Read(ring)).Problem);
    }

    [Fact]
    public void CorruptHeadAndTailCannotLoopForever()
    {
        var ring = new RingBuilder(4, 10);
        ring.Add("x", 1);
        ring.Memory.WriteU64(RingBuilder.RingAt + 8 + 24, 12345); // head_id far from tail_id
        var records = Read(ring).Records;
        Assert.True(records.Count <= 17);
    }

    [Fact]
    public void MissingVmcoreinfoOffsetsAreNamed()
    {
        var ring = new RingBuilder(4, 10);
        var info = Kdx.Dump.VmcoreInfo.Parse(RingBuilder.Info().Text.Replace("OFFSET(prb_desc.state_var)=8\n", ""));
        var e = Assert.Throws<DumpFormatException>(() => KernelLog.Read(ring.Memory, new KernelLayout(info)));
        Assert.Contains("prb_desc.state_var", e.Problem);
    }

    /// <summary>Memory with one range missing from the dump.</summary>
    private sealed class HoleyMemory(Kdx.Kernel.Memory.IKernelMemory inner, ulong holeAt, ulong holeLength) : Kdx.Kernel.Memory.IKernelMemory
    {
        public void Read(ulong vaddr, Span<byte> destination)
        {
            if (vaddr < holeAt + holeLength && vaddr + (ulong)destination.Length > holeAt)
                throw new PageNotInDumpException(vaddr - 0xffffffff80000000, PageAbsence.Excluded);
            inner.Read(vaddr, destination);
        }
    }
}
