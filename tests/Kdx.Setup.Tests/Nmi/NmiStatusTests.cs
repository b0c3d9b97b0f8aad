// Tests for `kdx nmi status`'s reader on fixture roots laid out like /sys, /proc and /etc.
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiStatusTests
{
    private static TempRoot LoadedMachine(string unknownNmiPanic = "0", string crashLoaded = "1")
    {
        var root = new TempRoot();
        var p = "sys/module/nmimgr/parameters/";
        root.File(p + "events_ignore", "\n");
        root.File(p + "events_drop", "32,48\n");
        root.File(p + "events_panic", "40-41,56-57\n");
        root.File(p + "protect_dump", "Y\n");
        root.File(p + "ratelimit_ms", "5000\n");
        root.File(p + "counters", "0 2\n33 17\n");
        root.File(p + "dump_claims", "0\n");
        root.File("proc/sys/kernel/unknown_nmi_panic", unknownNmiPanic + "\n");
        root.File("proc/sys/kernel/panic_on_unrecovered_nmi", "0\n");
        root.File("proc/sys/kernel/panic_on_io_nmi", "1\n");
        root.File("proc/sys/kernel/nmi_watchdog", "1\n");
        root.File("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 crashkernel=256M nmimgr.events_panic=40 quiet\n");
        root.File("sys/kernel/kexec_crash_loaded", crashLoaded + "\n");
        root.File("etc/modprobe.d/nmimgr.conf", "# x\noptions nmimgr events_panic=40-41,56-57\n");
        return root;
    }

    [Fact]
    public void Reads_parameters_counters_and_sysctls()
    {
        using var root = LoadedMachine();
        var s = NmiStatus.Read(root.Path);
        Assert.True(s.Loaded);
        Assert.Equal("32,48", s.Parameters["events_drop"]);
        Assert.Equal("", s.Parameters["events_ignore"]);
        Assert.Equal("Y", s.Parameters["protect_dump"]);
        Assert.False(s.Parameters.ContainsKey("counters"));
        Assert.Equal(new Dictionary<int, long> { [0] = 2, [33] = 17 }, s.Counters);
        Assert.Equal(["0", "0", "1", "1"], s.Sysctls.Select(x => x.Value));
        Assert.Equal(["nmimgr.events_panic=40"], s.CommandLineOptions);
        Assert.True(s.CrashKernelLoaded);
        Assert.Contains("options nmimgr", s.ModprobeConf);
        Assert.Contains(s.Notes, n => n.Contains("panic_on_io_nmi", StringComparison.Ordinal));
        Assert.DoesNotContain(s.Notes, n => n.Contains("unknown_nmi_panic", StringComparison.Ordinal));
    }

    [Fact]
    public void Warns_about_panic_list_without_crash_kernel_and_global_panic_sysctl()
    {
        using var root = LoadedMachine(unknownNmiPanic: "1", crashLoaded: "0");
        var s = NmiStatus.Read(root.Path);
        Assert.Contains(s.Notes, n => n.Contains("no crash kernel is loaded", StringComparison.Ordinal));
        Assert.Contains(s.Notes, n => n.Contains("codes in no nmimgr list still panic", StringComparison.Ordinal));
    }

    [Fact]
    public void Not_loaded_machine_with_missing_files()
    {
        using var root = new TempRoot();
        root.File("proc/sys/kernel/unknown_nmi_panic", "1\n");
        var s = NmiStatus.Read(root.Path);
        Assert.False(s.Loaded);
        Assert.Empty(s.Parameters);
        Assert.Empty(s.Counters);
        Assert.Null(s.Sysctls.Single(x => x.Name == "nmi_watchdog").Value);
        Assert.Null(s.CrashKernelLoaded);
        Assert.Null(s.ModprobeConf);
        Assert.Contains(s.Notes, n => n.Contains("every unclaimed NMI panics", StringComparison.Ordinal));
    }

    [Fact]
    public void Malformed_counter_lines_are_reported_not_dropped_silently()
    {
        var counters = new Dictionary<int, long>();
        var notes = new List<string>();
        NmiStatus.ParseCounters("1 5\n300 2\nx y\n7 9\n", counters, notes);
        Assert.Equal(new Dictionary<int, long> { [1] = 5, [7] = 9 }, counters);
        Assert.Equal(2, notes.Count);
    }
}
