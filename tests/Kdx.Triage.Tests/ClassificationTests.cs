// Every lab crash kind, triaged from its real dump: the class, the panicking task and CPU (checked
// against crash 9 with debuginfo on the same dump), and the top frames of the signature (the
// functions the crash scenario crashes in: kernel/crashtest's crashtest_* functions, the kernel's
// sysrq and NMI handlers, and the page-fault path that ran out of memory).
using Kdx.Lab;

namespace Kdx.Triage.Tests;

[Trait("Category", "Lab")]
public class ClassificationTests
{
    public static TheoryData<CrashKind, string, string> Kinds => new()
    {
        { CrashKind.Sysrq, "sysrq", "sysrq_handle_crash" },
        { CrashKind.Nmi, "nmi", "unknown_nmi_error" },
        { CrashKind.Oops, "oops", "crashtest_oops [crashtest]" },
        { CrashKind.Bug, "bug", "crashtest_bug [crashtest]" },
        { CrashKind.Warn, "warn", "crashtest_warn [crashtest]" },
        { CrashKind.Softlockup, "softlockup", "crashtest_softlockup [crashtest]" },
        // crashtest_hung tail-calls wait_for_completion, so the blocked task's first frame below the
        // scheduler is its caller (the kernel's own hung-task call trace in the log shows the same).
        { CrashKind.Hung, "hung_task", "crashtest_trigger_set [crashtest]" },
        // memhog faults pages in: below the allocator the first frame is the page-fault handler.
        { CrashKind.Oom, "oom", "__handle_mm_fault" },
    };

    [Fact]
    public void Every_crash_kind_but_script_is_covered()
    {
        var covered = Kinds.Select(row => (CrashKind)row[0]).ToHashSet();
        Assert.Equal(Enum.GetValues<CrashKind>().Where(k => k != CrashKind.Script).ToHashSet(), covered);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Classifies_each_crash_kind_with_crash_s_task_and_cpu(CrashKind kind, string expectedClass, string topFrame)
    {
        var lab = TriageLab.Kind(kind);
        var r = TriageLab.Report(lab);
        Assert.Equal(expectedClass, PanicClassNames.Name(r.Panic.Class));
        Assert.Empty(r.Unavailable);

        var crash = TriageLab.CrashBacktrace(lab);
        Assert.Equal((crash.Pid, crash.Cpu, crash.Command), (r.Pid, r.Cpu, r.Comm));
        Assert.Equal(topFrame, r.Signature.Frames[0]);
        // The functions crash shows are ours too, in the same order (ours has a few more: crash
        // drops the innermost delay/oops helpers and a leaf function's frame at the exception RIP).
        var ours = r.Backtrace!.Frames.Where(f => f.Function is not null).Select(f => f.Function!).ToList();
        var theirs = crash.Functions.Where(ours.Contains).ToList();
        Assert.True(theirs.Count >= 3 && theirs.Count >= crash.Functions.Count - 2,
            $"crash's frames {string.Join(",", crash.Functions)} vs ours {string.Join(",", ours)}");
        var matched = 0;
        foreach (var f in ours)
            if (matched < theirs.Count && theirs[matched] == f)
                matched++;
        Assert.True(matched == theirs.Count, $"crash's order {string.Join(",", theirs)} vs ours {string.Join(",", ours)}");
        if (crash.ExceptionFunction is { } rip)
            Assert.StartsWith(rip + "+", r.FaultAt);
        Assert.Equal(lab.Metadata.Kernel, r.Release);
    }

    [Fact]
    public void Oops_gives_the_faulting_address_and_the_instruction()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Oops));
        Assert.Equal(0UL, r.Panic.FaultAddress); // crashtest_oops writes through a NULL pointer
        Assert.Equal("NULL pointer dereference", r.Panic.Detail("kind"));
        var at = Assert.Single(r.Disassembly, l => l.StartsWith("=> ", StringComparison.Ordinal));
        Assert.Contains("<crashtest_oops+", at);
        Assert.Contains("movl", at); // the store to address 0
        Assert.Contains(r.Taint!.Modules, m => m.Name == "crashtest" && m.Letters.Contains('O') && m.Letters.Contains('E'));
    }

    [Fact]
    public void Bug_gives_file_and_line()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Bug));
        Assert.EndsWith("crashtest.c", r.Panic.Detail("file"));
        var source = File.ReadAllLines(Path.Combine(LabPaths.Repo, "kernel", "crashtest", "crashtest.c"));
        Assert.Contains("BUG()", source[int.Parse(r.Panic.Detail("line")!) - 1]);
    }

    [Fact]
    public void Softlockup_names_cpu_seconds_and_task()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Softlockup));
        Assert.Equal(r.Cpu.ToString(), r.Panic.Detail("cpu"));
        Assert.True(int.Parse(r.Panic.Detail("stuck_seconds")!) >= 4); // watchdog_thresh=2: reported after 2 x 2 s
        Assert.Equal((r.Pid!.Value, r.Comm!), r.Panic.Culprit);
    }

    [Fact]
    public void Hung_task_names_the_blocked_task_and_lists_it_with_its_backtrace()
    {
        var lab = TriageLab.Kind(CrashKind.Hung);
        var r = TriageLab.Report(lab);
        Assert.Equal("khungtaskd", r.Comm);
        var (pid, comm) = r.Panic.Culprit!.Value;
        Assert.Equal("sh", comm);
        var blocked = Assert.Single(r.BlockedTasks, b => b.Pid == pid);
        Assert.Equal("UN", blocked.State);
        Assert.Contains(blocked.Backtrace!.Frames, f => f.Function == "crashtest_trigger_set");
        Assert.Equal(pid, r.CulpritBacktrace!.Pid);
        // crash's ps shows the same task in UN state.
        var ps = File.ReadAllLines(Path.Combine(Oracles.Ensure(lab, Console.Error), "crash-ps.txt"));
        Assert.Contains(ps, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var p, _, _, _, "UN", ..] && p.TrimStart('>') == pid.ToString());
    }

    [Fact]
    public void Every_task_is_unwound_like_crash_s_foreach_bt()
    {
        var lab = TriageLab.Kind(CrashKind.Hung);
        var r = TriageLab.Report(lab);
        var crash = Oracles.Crash(lab, "foreach bt", progress: Console.Error);
        var theirs = System.Text.RegularExpressions.Regex.Matches(crash, @"PID: (\d+)\s+TASK: ([0-9a-f]+)")
            .Select(m => (int.Parse(m.Groups[1].Value), Convert.ToUInt64(m.Groups[2].Value, 16))).Order().ToList();
        Assert.Equal(theirs, r.TaskBacktraces.Select(t => (t.Pid, t.Task)).Order().ToList());
        Assert.Equal(r.TaskCount, r.TaskBacktraces.Count);
        // Sleeping tasks all start in the scheduler (their saved frame is __switch_to_asm's).
        Assert.All(r.TaskBacktraces.Where(t => t.State is "IN" or "UN" or "ID"), t => Assert.Contains(t.Backtrace!.Frames.Take(2), f => f.Function == "__schedule"));
    }

    [Fact]
    public void Oom_names_the_victim_and_its_rss()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Oom));
        Assert.Equal("memhog", r.Panic.Culprit!.Value.Comm); // the lab's static memory hog
        Assert.True(long.Parse(r.Panic.Detail("victim_rss_kb")!) > 512 * 1024); // most of the 1 GiB guest
        Assert.NotNull(r.Memory);
    }

    [Fact]
    public void Nmi_gives_the_reason_byte_from_the_log()
    {
        var lab = LabCatalog.Build(LabCatalog.NmiQemu());
        var r = TriageLab.Report(lab, "qemu-elf");
        Assert.Equal(PanicClass.Nmi, r.Panic.Class);
        Assert.Equal("unknown", r.Panic.Detail("source"));
        // The console shows the kernel's own line; the reason byte is port 0x61 and varies by boot.
        var console = File.ReadAllText(lab.ConsoleLog);
        var m = System.Text.RegularExpressions.Regex.Match(console, @"NMI received for unknown reason ([0-9a-f]{2}) on CPU (\d+)");
        Assert.True(m.Success);
        Assert.Equal("0x" + m.Groups[1].Value, r.Panic.Detail("reason"));
        Assert.Equal(m.Groups[2].Value, r.Cpu.ToString());
        var crash = TriageLab.CrashBacktrace(lab);
        Assert.Equal((crash.Pid, crash.Cpu, crash.Command), (r.Pid, r.Cpu, r.Comm));
        Assert.Contains(r.NextSteps, s => s.Contains("events_panic", StringComparison.Ordinal));
    }

    [Fact]
    public void Sysrq_on_a_real_kdump_capture()
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        var r = TriageLab.Report(lab, "kdump-mdf-l-d31");
        Assert.Equal(PanicClass.Sysrq, r.Panic.Class);
        Assert.Equal("sysrq_handle_crash", r.Signature.Frames[0]);
        var crash = TriageLab.CrashBacktrace(lab);
        Assert.Equal((crash.Pid, crash.Cpu, crash.Command), (r.Pid, r.Cpu, r.Comm));
        // The same crash read from the other capture methods of the same boot gives the same report essentials.
        foreach (var capture in new[] { "kdump-mdf-c-d1", "kdump-mdf-F-l-d31", "kdump-mdf-split-l-d31" })
        {
            var other = TriageLab.Report(lab, capture);
            Assert.Equal((r.Panic.Class, r.Pid, r.Cpu, r.Signature.Hash), (other.Panic.Class, other.Pid, other.Cpu, other.Signature.Hash));
        }
    }
}

/// <summary>
/// nmimgr's own panic (an NMI whose event code is in events_panic), captured by a real kdump: the
/// scenario of tests/Kdx.Setup.Tests/Nmi/NmiLabTests (the same options, so the same cache entry).
/// </summary>
[Trait("Category", "Lab")]
public class NmimgrPanicTests
{
    [Fact]
    public void Nmimgr_panic_names_the_event_code()
    {
        var release = ScenarioOptions.ResolveKernel("default");
        var module = GuestBinaries.KernelModule(Path.Combine(LabPaths.Repo, "kernel", "nmimgr"), "nmimgr", release);
        var lab = LabCatalog.Build(ScenarioOptions.Create(release, "script", ["kdump-mdf:-l,-d,31"],
            modules: [$"{module}:ratelimit_ms=0"], script: Path.Combine(LabPaths.Repo, "tests", "Kdx.Setup.Tests", "Nmi", "lab", "kdump-panic.sh")));
        var r = TriageLab.Report(lab);
        Assert.Equal(PanicClass.Nmi, r.Panic.Class);
        Assert.Equal("nmimgr: NMI event listed in events_panic", r.Panic.Message);
        Assert.Equal("nmimgr", r.Panic.Detail("source"));
        // The guest script prints the code it listed; nmimgr's log line in the dump names the event it panicked on.
        var console = File.ReadAllText(lab.ConsoleLog);
        var listed = int.Parse(System.Text.RegularExpressions.Regex.Match(console, @"NMITEST stage panic code=(\d+)").Groups[1].Value);
        var code = Convert.ToInt32(r.Panic.Detail("event_code"), 16);
        Assert.Contains(code, new[] { listed, listed ^ 0x10 }); // bit 0x10 of port 0x61 toggles by itself; both are listed
        Assert.StartsWith("nmi | nmimgr", r.Signature.Text);
        Assert.Contains(r.NextSteps, s => s.Contains($"0x{code:x2}", StringComparison.Ordinal));
    }
}
