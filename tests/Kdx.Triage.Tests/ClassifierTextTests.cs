// The classifier on kernel log text for the classes no lab scenario crashes into (hard lockup,
// machine check, SERR/IOCHK NMIs, nmimgr's events_panic, paging requests), the lines written the
// way the kernel's printk formats them (arch/x86/kernel/nmi.c, kernel/watchdog_hld.c,
// arch/x86/mm/fault.c, kernel/nmimgr), and with the backtrace alone when the log is unreadable.
namespace Kdx.Triage.Tests;

public class ClassifierTextTests
{
    private static PanicClassification Classify(params string[] log) => PanicClassifier.Classify(log, []);

    [Fact]
    public void Hard_lockup()
    {
        var c = Classify("NMI watchdog: Watchdog detected hard LOCKUP on cpu 3", "Kernel panic - not syncing: Hard LOCKUP");
        Assert.Equal(PanicClass.Hardlockup, c.Class);
        Assert.Equal("3", c.Detail("cpu"));
    }

    [Fact]
    public void Machine_check()
    {
        var c = Classify("mce: [Hardware Error]: CPU 2: Machine Check Exception: 5 Bank 4: b200000000070f0f", "Kernel panic - not syncing: Fatal machine check");
        Assert.Equal(PanicClass.Mce, c.Class);
        Assert.Contains("Bank 4", c.Detail("mce_line_1"));
    }

    [Theory]
    [InlineData("NMI: PCI system error (SERR) for reason a1 on CPU 0.", "serr", "0xa1")]
    [InlineData("NMI: IOCK error (debug interrupt?) for reason 71 on CPU 1.", "iochk", "0x71")]
    [InlineData("Uhhuh. NMI received for unknown reason 31 on CPU 1.", "unknown", "0x31")]
    public void Nmi_reasons(string line, string source, string reason)
    {
        var c = Classify(line, "Kernel panic - not syncing: NMI: Not continuing");
        Assert.Equal((PanicClass.Nmi, source, reason), (c.Class, c.Detail("source"), c.Detail("reason")));
    }

    [Fact]
    public void Nmimgr_events_panic_names_the_event_code()
    {
        var c = Classify(
            "nmimgr: Handling new NMI type:1 event:0x21 (33)",
            "nmimgr: NMI event 0x21 (33) is in events_panic",
            "Kernel panic - not syncing: nmimgr: NMI event listed in events_panic");
        Assert.Equal((PanicClass.Nmi, "nmimgr", "0x21"), (c.Class, c.Detail("source"), c.Detail("event_code")));
    }

    [Fact]
    public void Paging_request_with_address()
    {
        var c = Classify(
            "BUG: unable to handle page fault for address: ffffa0d8c0000000",
            "#PF: supervisor read access in kernel mode",
            "Oops: 0000 [#1] PREEMPT SMP NOPTI",
            "RIP: 0010:memcpy_orig+0x31/0x140",
            "Kernel panic - not syncing: Fatal exception in interrupt");
        Assert.Equal(PanicClass.Oops, c.Class);
        Assert.Equal(0xffffa0d8c0000000, c.FaultAddress);
        Assert.Equal(("paging request", "memcpy_orig", "supervisor read access in kernel mode"), (c.Detail("kind"), c.Detail("function"), c.Detail("access")));
    }

    [Fact]
    public void Oom_with_a_killed_victim()
    {
        var c = Classify(
            "java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
            "Out of memory: Killed process 4242 (java) total-vm:9000000kB, anon-rss:7340032kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1000kB oom_score_adj:0",
            "Kernel panic - not syncing: System is deadlocked on memory");
        Assert.Equal(PanicClass.Oom, c.Class);
        Assert.Equal((4242, "java"), c.Culprit);
        Assert.Equal("7340032", c.Detail("victim_rss_kb"));
    }

    [Fact]
    public void Without_a_log_the_backtrace_decides()
    {
        var c = PanicClassifier.Classify([], ["delay_tsc", "panic", "sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger"]);
        Assert.Equal(PanicClass.Sysrq, c.Class);
        Assert.Equal(PanicClass.Other, PanicClassifier.Classify([], ["delay_tsc", "panic", "some_driver_fn"]).Class);
        Assert.Equal(PanicClass.Other, PanicClassifier.Classify(["Kernel panic - not syncing: VFS: Unable to mount root fs"], []).Class);
    }
}
