// Tests for NMI discovery on recorded kernel log text in the formats dmesg, journalctl, /dev/kmsg and makedumpfile write.
using Kdx.Kernel.Nmi;
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiLogScannerTests
{
    // A QEMU guest: nmimgr loaded with events_drop=32; three monitor "nmi"s and one without nmimgr's say (ratelimited).
    private const string Dmesg = """
        [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-03-05)
        [    0.004512] NMI watchdog: Perf NMI watchdog permanently disabled
        [    3.981230] nmimgr: loaded: ignore= drop=32 panic= protect_dump=1
        [   12.345678] nmimgr: Handling new NMI type:1 event:0x21 (33)
        [   12.345690] nmimgr: Unmanaged NMI event 0x21 (33), let it pass
        [   12.345702] Uhhuh. NMI received for unknown reason 21 on CPU 0.
        [   12.345710] Dazed and confused, but trying to continue
        [   20.100000] nmimgr: Handling new NMI type:1 event:0x20 (32)
        [   20.100010] nmimgr: Dropping NMI event 0x20 (32)
        [   21.500000] Uhhuh. NMI received for unknown reason 21 on CPU 1.
        [   21.500010] Dazed and confused, but trying to continue
        [   30.000000] NMI: PCI system error (SERR) for reason a1 on CPU 0.
        [   30.000010] Dazed and confused, but trying to continue
        [   31.000000] NMI: IOCK error (debug interrupt?) for reason 61 on CPU 2.
        """;

    [Fact]
    public void Dmesg_codes_counts_and_times()
    {
        var codes = NmiLogSummary.Scan(Dmesg.Split('\n'));
        Assert.Equal([0x20, 0x21, 0x61, 0xa1], codes.Select(c => c.Code));

        var c21 = codes.Single(c => c.Code == 0x21);
        // nmimgr's two lines and the kernel's "Uhhuh" at 12.34 are one NMI; the one at 21.5 is a second.
        Assert.Equal(2, c21.Count);
        Assert.Equal("12.345678", c21.FirstSeen);
        Assert.Equal("21.500000", c21.LastSeen);
        Assert.Equal(NmiSource.Nmimgr | NmiSource.Unknown, c21.Sources);
        Assert.Equal(NmiAction.Passed, c21.LastAction);
        Assert.Equal(1, c21.LastCpu);

        var c20 = codes.Single(c => c.Code == 0x20);
        Assert.Equal((1, NmiSource.Nmimgr, NmiAction.Dropped), (c20.Count, c20.Sources, c20.LastAction));

        Assert.Equal((1, NmiSource.Serr, "30.000000"), (codes.Single(c => c.Code == 0xa1).Count, codes.Single(c => c.Code == 0xa1).Sources, codes.Single(c => c.Code == 0xa1).FirstSeen));
        Assert.Equal((NmiSource.Iock, 2), (codes.Single(c => c.Code == 0x61).Sources, codes.Single(c => c.Code == 0x61).LastCpu));
    }

    // Recorded on Linux 6.1 under QEMU: nmimgr read 0x21 while the kernel, a few microseconds
    // earlier, printed 31 (bit 0x10 of port 0x61 toggles by itself).
    [Fact]
    public void Kernel_line_with_a_toggled_live_bit_is_the_same_event()
    {
        string[] lines =
        [
            "[    7.905658] nmimgr: Handling new NMI type:1 event:0x21 (33)",
            "[    7.905658] nmimgr: Unmanaged NMI event 0x21 (33), let it pass",
            "[    7.905658] Uhhuh. NMI received for unknown reason 31 on CPU 0.",
            "[    7.905658] Dazed and confused, but trying to continue",
            "[    9.000000] Uhhuh. NMI received for unknown reason 31 on CPU 0.",
        ];
        var codes = NmiLogSummary.Scan(lines);
        var c21 = codes.Single(c => c.Code == 0x21);
        Assert.Equal((1, NmiSource.Nmimgr | NmiSource.Unknown, "0x31"), (c21.Count, c21.Sources, $"0x{c21.KernelVariants.Codes().Single():x2}"));
        // The later line has no nmimgr line before it: its own event under the kernel's code.
        Assert.Equal(1, codes.Single(c => c.Code == 0x31).Count);
    }

    // A real guest's dmesg (6.1.0-56 under QEMU, nmimgr with the default 5 s ratelimit): four
    // monitor NMIs, dropped (5.87), ignored (7.42), unmanaged but not logged by nmimgr (8.97,
    // ratelimit), unmanaged and logged (11.39). nmimgr read 0x21, the kernel printed 31.
    [Fact]
    public void Recorded_guest_dmesg()
    {
        var path = Path.Combine(NmiModuleBuildTests.RepoRoot(), "tests/Kdx.Setup.Tests/Nmi/testdata/qemu-6.1-dmesg.txt");
        var codes = NmiLogSummary.Scan(File.ReadLines(path));
        Assert.Equal([0x21, 0x31], codes.Select(c => c.Code));
        var c21 = codes[0];
        Assert.Equal((2, "5.866045", "11.394937", NmiSource.Nmimgr | NmiSource.Unknown, NmiAction.Passed),
            (c21.Count, c21.FirstSeen, c21.LastSeen, c21.Sources, c21.LastAction));
        Assert.Equal(NmiCodeSet.Of(0x31), c21.KernelVariants);
        var c31 = codes[1];
        Assert.Equal((2, "7.416976", "8.965999", NmiSource.Unknown), (c31.Count, c31.FirstSeen, c31.LastSeen, c31.Sources));
    }

    [Fact]
    public void Journal_short_iso_and_classic_syslog_prefixes()
    {
        string[] lines =
        [
            "2026-11-23T02:10:11+0000 node7 kernel: Uhhuh. NMI received for unknown reason 30 on CPU 3.",
            "2026-11-23T02:10:11+0000 node7 kernel: Dazed and confused, but trying to continue",
            "Nov 23 02:15:00 node7 kernel: [ 5000.123456] Uhhuh. NMI received for unknown reason 30 on CPU 0.",
            "Nov 23 02:16:00 node7 systemd[1]: Started Session 4 of User root (NMI test).",
        ];
        var c = Assert.Single(NmiLogSummary.Scan(lines));
        Assert.Equal((0x30, 2, "2026-11-23T02:10:11+0000", "Nov 23 02:15:00"), (c.Code, c.Count, c.FirstSeen, c.LastSeen));
    }

    [Fact]
    public void Kmsg_records_and_makedumpfile_caller_ids()
    {
        string[] lines =
        [
            "4,1290,12345678,-;nmimgr: Handling new NMI type:2 event:0xa0 (160)",
            "0,1291,12345700,-;nmimgr: NMI event 0xa0 (160) is in events_panic",
            "[   44.000001] [    C0] nmimgr: Handling new NMI type:1 event:0x00 (0)",
            "[   44.000002] [    C0] nmimgr: Dropping NMI event 0x00 (0)",
        ];
        var codes = NmiLogSummary.Scan(lines);
        var a0 = codes.Single(c => c.Code == 0xa0);
        Assert.Equal(("12.345678", NmiAction.Panicked), (a0.FirstSeen, a0.LastAction));
        var zero = codes.Single(c => c.Code == 0);
        Assert.Equal(("44.000001", NmiAction.Dropped, 1), (zero.FirstSeen, zero.LastAction, zero.Count));
    }

    [Fact]
    public void Records_from_a_printk_reader_need_no_text_prefix()
    {
        var codes = NmiLogSummary.Scan(new[] { new NmiLogLine("100.5", "Uhhuh. NMI received for unknown reason 2d on CPU 0.") });
        Assert.Equal((0x2d, "100.5"), (codes[0].Code, codes[0].FirstSeen));
    }

    [Fact]
    public void Lines_without_timestamps_are_located_by_line_number()
    {
        var codes = NmiLogSummary.Scan(["boot", "Uhhuh. NMI received for unknown reason 2d on CPU 0."]);
        Assert.Equal("line 2", codes[0].FirstSeen);
    }

    [Fact]
    public void Unrelated_nmi_lines_are_not_events()
    {
        string[] lines =
        [
            "[    0.1] NMI watchdog: Enabled. Permanently consumes one hw-PMU counter.",
            "[    0.2] Dazed and confused, but trying to continue",
            "[    0.3] INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.2 msecs",
            "[    0.4] nmimgr: loaded: ignore=0-15 drop= panic=40-41 protect_dump=1",
        ];
        Assert.Empty(NmiLogSummary.Scan(lines));
    }
}
