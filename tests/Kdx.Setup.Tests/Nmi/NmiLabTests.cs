// nmimgr in a real kernel: the crash lab boots Debian's kernel under QEMU with the module loaded,
// injects NMIs through the QEMU monitor, and keeps the console and the dumps.
using System.Text.RegularExpressions;
using Kdx.Lab;
using Kdx.Kernel.Nmi;
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

/// <summary>Lab tests share a collection: one TCG guest at a time on a small machine.</summary>
[Collection(CrashLab.Collection)]
public class NmiLabTests
{
    private static string ScriptPath(string name) =>
        Path.Combine(NmiModuleBuildTests.RepoRoot(), "tests/Kdx.Setup.Tests/Nmi/lab", name);

    /// <summary>nmimgr.ko for a kernel release, built once per source version into the lab's build cache.</summary>
    internal static string Module(string release) =>
        GuestBinaries.KernelModule(Path.Combine(NmiModuleBuildTests.RepoRoot(), "kernel/nmimgr"), "nmimgr", release);

    private static LabResult Build(string script, string moduleOptions, params string[] captures)
    {
        var release = ScenarioOptions.ResolveKernel("default");
        var s = ScenarioOptions.Create(release, "script", captures,
            modules: [$"{Module(release)}:{moduleOptions}"], script: ScriptPath(script));
        return LabCatalog.Build(s);
    }

    /// <summary>The console lines after the one that starts with <paramref name="from"/>, up to the next NMITEST stage.</summary>
    private static string Stage(string console, string from)
    {
        var start = console.IndexOf(from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{from}' in the console");
        var end = console.IndexOf("NMITEST stage", start + from.Length, StringComparison.Ordinal);
        return end < 0 ? console[start..] : console[start..end];
    }

    private static Dictionary<int, long> Counters(string console, string stage)
    {
        var m = Regex.Match(console, $@"NMITEST {stage} counters=\[([^\]]*)\]");
        Assert.True(m.Success, $"no counters for {stage}");
        // The script joined nmimgr's "code count" lines with spaces.
        var words = m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var counters = new Dictionary<int, long>();
        var notes = new List<string>();
        NmiStatus.ParseCounters(string.Join('\n', words.Chunk(2).Select(p => string.Join(' ', p))), counters, notes);
        Assert.Empty(notes);
        return counters;
    }

    [Fact]
    public void Drop_ignore_unmanaged_runtime_writes_and_panic_on_real_nmis()
    {
        var lab = Build("policy.sh", "ratelimit_ms=0", CaptureSpec.QemuElf);
        var console = File.ReadAllText(lab.ConsoleLog).Replace("\r", "", StringComparison.Ordinal);

        // drop: nmimgr logs the code and claims the NMI, so the kernel says nothing.
        var drop = Stage(console, "NMITEST stage drop");
        var handled = Regex.Match(drop, @"nmimgr: Handling new NMI type:1 event:0x([0-9a-f]{2}) \((\d+)\)");
        Assert.True(handled.Success, drop);
        var code = Convert.ToInt32(handled.Groups[1].Value, 16);
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), handled.Groups[2].Value);
        Assert.Contains($"nmimgr: Dropping NMI event 0x{code:x2} ({code})", drop);
        Assert.DoesNotContain("Uhhuh", drop);
        Assert.Equal(1, Counters(console, "drop").Values.Sum());

        // ignore: nmimgr is silent and the kernel reports the NMI itself; the counter still counts.
        var ignore = Stage(console, "NMITEST stage ignore");
        Assert.Contains("ignore=[0-255] drop=[]", ignore);
        Assert.Matches(@"Uhhuh\. NMI received for unknown reason [0-9a-f]{2} on CPU \d+\.", ignore);
        Assert.DoesNotContain("nmimgr: Handling", ignore);
        Assert.Equal(2, Counters(console, "ignore").Values.Sum());

        // unmanaged: logged and passed on to the kernel.
        var unmanaged = Stage(console, "NMITEST stage unmanaged");
        Assert.Matches(@"nmimgr: Unmanaged NMI event 0x[0-9a-f]{2} \(\d+\), let it pass", unmanaged);
        Assert.Matches(@"Uhhuh\. NMI received for unknown reason [0-9a-f]{2} on CPU \d+\.", unmanaged);
        Assert.Equal(3, Counters(console, "unmanaged").Values.Sum());

        // malformed writes are refused whole and the old list stays.
        foreach (var bad in new[] { "1-", "300", "a,b", "5-3" })
            Assert.Contains($"NMITEST write {bad} rejected drop=[7,9]", console);

        // panic: the guest dies through nmimgr, and QEMU dumps it.
        Assert.Contains("NMITEST stage panic panic=[0-255]", console);
        Assert.Equal("nmimgr: NMI event listed in events_panic", lab.Metadata.PanicMessage);
        Assert.Matches(@"nmimgr: NMI event 0x[0-9a-f]{2} \(\d+\) is in events_panic", console);
        Assert.DoesNotContain("NMITEST still alive", console);
        Assert.Equal("elf", Assert.Single(lab.Metadata.Captures).Format);

        // kdx nmi discover reads the same console: every code nmimgr logged is found.
        var found = NmiLogSummary.Scan(console.Split('\n'));
        Assert.Contains(found, c => c.Code == code && c.Sources.HasFlag(NmiSource.Nmimgr));
        Assert.Contains(found, c => c.LastAction == NmiAction.Panicked);
    }

    private const string KdumpCapture = "kdump-mdf:-l,-d,31";

    /// <summary>kdump-panic.sh under a real kdump; the capture kernel runs with unknown_nmi_panic.</summary>
    private static Scenario KdumpScenario(string moduleOptions, string? captureScript)
    {
        var release = ScenarioOptions.ResolveKernel("default");
        return ScenarioOptions.Create(release, "script", [KdumpCapture],
            modules: [$"{Module(release)}:{moduleOptions}"], script: ScriptPath("kdump-panic.sh"),
            cmdline: captureScript is null ? "" : "kdxlab.kdumpappend=unknown_nmi_panic",
            captureScript: captureScript is null ? null : ScriptPath(captureScript));
    }

    /// <summary>The code kdump-panic.sh learned and listed (with its bit-0x10 partner) in events_panic.</summary>
    private static int PanicCode(string console)
    {
        var m = Regex.Match(console, @"NMITEST stage panic code=(\d+) panic=\[([^\]]*)\] crash_loaded=1");
        Assert.True(m.Success, "the guest script did not reach its panic stage with a crash kernel loaded");
        var code = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(NmiCodeSet.Of(code, code ^ 0x10), NmiCodeSet.Parse(m.Groups[2].Value));
        return code;
    }

    /// <summary>Checks the kdump capture of an nmimgr panic: the dump file, and nmimgr's lines in the dump's own log.</summary>
    private static void AssertNmimgrPanicCaptured(LabResult lab, string console)
    {
        var code = PanicCode(console);
        var listed = new[] { code, code ^ 0x10 };

        Assert.Equal("kdump", lab.Metadata.CaptureMethod);
        Assert.Contains("KDXLAB-CAPTURE-KERNEL", console);
        Assert.Equal("nmimgr: NMI event listed in events_panic", lab.Metadata.PanicMessage);
        var capture = Assert.Single(lab.Metadata.Captures);
        Assert.Equal("kdump", capture.Format);
        var dump = lab.Dump(capture.Id);
        var head = new byte[8];
        using (var f = File.OpenRead(dump))
            f.ReadExactly(head);
        Assert.Equal("KDUMP   "u8.ToArray(), head);
        Assert.True(new FileInfo(dump).Length > 1 << 20, "the dump is implausibly small");

        // The first kernel's last words are in the dump, not necessarily on the console: the
        // NMI-context printk is deferred and kdump starts first.
        Assert.NotNull(lab.Metadata.MakedumpfileDmesg);
        var log = File.ReadAllText(Path.Combine(lab.Directory, lab.Metadata.MakedumpfileDmesg!));
        var panicAt = log.IndexOf("Kernel panic - not syncing: nmimgr: NMI event listed in events_panic", StringComparison.Ordinal);
        Assert.True(panicAt >= 0, "no nmimgr panic line in the dump's log");
        var before = log[..panicAt];
        var listedLine = Regex.Matches(before, @"nmimgr: NMI event 0x([0-9a-f]{2}) \((\d+)\) is in events_panic").LastOrDefault();
        Assert.NotNull(listedLine);
        var panicked = Convert.ToInt32(listedLine.Groups[1].Value, 16);
        Assert.Contains(panicked, listed);
        // ratelimit_ms=0: the panicking NMI has its own "Handling new NMI" line just before.
        var handled = Regex.Matches(before[..listedLine.Index], @"nmimgr: Handling new NMI type:1 event:0x([0-9a-f]{2}) \((\d+)\)").LastOrDefault();
        Assert.NotNull(handled);
        Assert.Equal(panicked, Convert.ToInt32(handled.Groups[1].Value, 16));
        Assert.Equal(panicked.ToString(System.Globalization.CultureInfo.InvariantCulture), handled.Groups[2].Value);
        Assert.DoesNotContain("NMITEST still alive after 5", console);
    }

    [Fact]
    public void Events_panic_nmi_is_captured_by_a_real_kdump()
    {
        var lab = LabCatalog.Build(KdumpScenario("ratelimit_ms=0", null));
        var console = File.ReadAllText(lab.ConsoleLog).Replace("\r", "", StringComparison.Ordinal);
        AssertNmimgrPanicCaptured(lab, console);
        // The capture kernel loaded nmimgr too (it knows it is a kdump kernel) and nothing disturbed it.
        Assert.Contains("(kdump kernel)", console);
        Assert.Matches(@"KDXLAB-COLLECTED vda rc=0 ", console);
        Assert.Contains("KDXLAB-CAPTURE-DONE", console);

        // `kdx nmi discover DUMP` finds the panicking code in the log inside the vmcore itself.
        var panicked = Regex.Match(File.ReadAllText(Path.Combine(lab.Directory, lab.Metadata.MakedumpfileDmesg!)),
            @"nmimgr: NMI event 0x([0-9a-f]{2}) \((\d+)\) is in events_panic").Groups[2].Value;
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, KdxProgram.Run(["nmi", "discover", lab.Dump("kdump-mdf-l-d31")], output, error));
        Assert.Matches($@"(?m)^\s*{panicked}\s+0x[0-9a-f]{{2}}\s+\d+\s.*nmimgr\s+panic", output.ToString());
    }

    [Fact]
    public void Protect_dump_claims_a_second_nmi_during_the_capture()
    {
        var lab = LabCatalog.Build(KdumpScenario("ratelimit_ms=0", "capture-second-nmi.sh"));
        var console = File.ReadAllText(lab.ConsoleLog).Replace("\r", "", StringComparison.Ordinal);
        AssertNmimgrPanicCaptured(lab, console);

        // In the capture kernel an unclaimed NMI would panic (unknown_nmi_panic from its command
        // line), nmimgr has no list set there, and protect_dump claimed the NMI instead.
        Assert.Matches(@"NMITEST capture protect_dump=Y unknown_nmi_panic=1 panic=\[\] dump_claims=0", console);
        Assert.Contains("NMITEST capture dump_claims=1 ", console);
        Assert.Contains("KDXLAB-CAPTURE-SCRIPT-DONE rc=0", console);
        var capture = console[console.IndexOf("KDXLAB-CAPTURE-KERNEL", StringComparison.Ordinal)..];
        Assert.DoesNotContain("NMI: Not continuing", capture);
        Assert.DoesNotContain("Uhhuh", capture);
        Assert.Matches(@"KDXLAB-COLLECTED vda rc=0 ", capture);
        Assert.Matches(@"KDXLAB-COLLECTED vdb rc=0 ", capture);
    }

    [Fact]
    public void Without_protect_dump_a_second_nmi_panics_the_capture_kernel_and_the_dump_is_lost()
    {
        var scenario = KdumpScenario("ratelimit_ms=0 protect_dump=0", "capture-second-nmi.sh");
        var e = Assert.Throws<LabException>(() => LabCatalog.Build(scenario));
        // QEMU runs with -no-reboot: the capture kernel's panic (panic=1) ends the guest, often
        // before the panic's last lines reach the console tail the message quotes.
        Assert.Contains("before the capture kernel to finish", e.Message);

        // A failed scenario keeps its whole console log.
        var name = scenario.CacheName(LabBuilder.InputsHash(scenario, Kernels.Image(scenario.Kernel)));
        var console = File.ReadAllText(Path.Combine(LabPaths.Cache, "failed", name, "console.log")).Replace("\r", "", StringComparison.Ordinal);
        PanicCode(console);
        var capture = console[console.IndexOf("KDXLAB-CAPTURE-KERNEL", StringComparison.Ordinal)..];
        Assert.Contains("NMITEST capture protect_dump=N unknown_nmi_panic=1 panic=[] dump_claims=0", capture);
        Assert.Matches(@"nmimgr: Unmanaged NMI event 0x[0-9a-f]{2} \(\d+\), let it pass", capture);
        Assert.Contains("Kernel panic - not syncing: NMI: Not continuing", capture);
        Assert.DoesNotContain("NMITEST capture dump_claims=", capture);
        Assert.DoesNotContain("KDXLAB-COLLECT", capture);
    }
}

public static class CrashLab
{
    public const string Collection = "crash lab";
}
