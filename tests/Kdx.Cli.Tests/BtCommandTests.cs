// `kdx bt` and `kdx bt -a` on real lab dumps against crash 9 with the -dbg vmlinux: every line kdx
// prints (frames without their number, register blocks, stack changes) must be a line crash prints,
// in the same order. crash also prints frames kdx does not (it scans the stack and starts the panic
// task from its own guess); each such frame, and each kdx frame crash lacks, is listed here with
// the reason, so a change on either side fails the test.
using System.Text.RegularExpressions;
using Kdx.Lab;

namespace Kdx.Cli.Tests;

public partial class BtCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => KdxInProcess.Run(args);

    private static LabResult Lab(string name) => LabCatalog.Build(name switch
    {
        "sysrq-kdump" => LabCatalog.SysrqKdump(),
        "nmi-qemu" => LabCatalog.NmiQemu(),
        "rt" => LabCatalog.OtherKernel(ScenarioOptions.ResolveKernel("default-rt")), // PREEMPT_RT flavor, sysrq crash
        _ => LabCatalog.Kind(Enum.Parse<CrashKind>(name, ignoreCase: true)),
    });

    /// <summary>Expected differences of one task's trace: crash-only items, then kdx-only items (function names, or the literal line).</summary>
    public sealed record Diff(string[] CrashOnly, string[] KdxOnly);

    // Why the differences:
    // - kdump panic task: the kernel saved the registers in __crash_kexec (crash_setup_regs) before
    //   calling machine_kexec; crash starts from a stale machine_kexec frame found by scanning, and
    //   reports __crash_kexec at the return address after that call, kdx at the saved ip.
    // - kdump other CPUs: the registers in their NT_PRSTATUS are the context the crash NMI
    //   interrupted; crash also shows the NMI handler frames above it, found by scanning the NMI stack.
    // - QEMU dumps: the registers are the CPU's at dump time, a leaf frame kdx shows as #0
    //   (delay_tsc in panic's wait loop, stop_this_cpu) and crash as an "[exception RIP:]" block or
    //   not at all; crash also drops the frames of noreturn tails (nmi_panic.cold, oops_end.cold),
    //   whose return address lies past the end of the calling function.
    // - The function an exception or interrupt stopped (crashtest_oops, _bug, _softlockup,
    //   native_safe_halt under the reboot IPI): kdx gives
    //   it a frame at the interrupted sp and ip. crash leaves it out (oops), prints it one word lower
    //   (bug), or prints a stale return address into it found below the interrupted sp (softlockup).
    public static TheoryData<string, string, int, Diff> Cases => new()
    {
        { "sysrq-kdump", "kdump-mdf-l-d31", -1, new(["machine_kexec", "__crash_kexec"], ["__crash_kexec"]) },
        { "sysrq-kdump", "kdump-mdf-l-d31", 1, new(["crash_nmi_callback", "default_do_nmi", "exc_nmi", "end_repeat_nmi", "[exception RIP: native_safe_halt+11]", "--- <NMI exception stack> ---"], []) },
        { "nmi-qemu", "qemu-elf", -1, new([], ["delay_tsc", "nmi_panic.cold"]) },
        { "oops", "qemu-kdump-zlib", -1, new([], ["delay_tsc", "oops_end.cold", "crashtest_oops"]) },
        { "bug", "qemu-kdump-zlib", -1, new(["crashtest_bug"], ["delay_tsc", "oops_end.cold", "crashtest_bug"]) },
        { "softlockup", "qemu-kdump-zlib", -1, new(["crashtest_softlockup"], ["delay_tsc", "crashtest_softlockup"]) },
        { "hung", "qemu-kdump-zlib", -1, new([], ["delay_tsc"]) },
        // crash shows the dump-time registers as an "[exception RIP:]" block and names the word at
        // their sp as frame #0 (a stale return address, sched_clock_idle_wakeup_event here).
        { "oops", "qemu-kdump-zlib", 0, new(["[exception RIP: stop_this_cpu+107]"], ["stop_this_cpu", "_raw_spin_unlock_irqrestore"]) },
        { "softlockup", "qemu-kdump-zlib", 0, new(["[exception RIP: stop_this_cpu+107]", "sched_clock_idle_wakeup_event"], ["stop_this_cpu", "native_safe_halt"]) },
        { "hung", "qemu-kdump-zlib", 0, new([], ["delay_tsc"]) },
        // CPU 1 took the reboot IPI while handle_softirqs ran on its IRQ stack: kdx follows ORC into
        // the pt_regs asm_sysvec_reboot saved there ([exception RIP: handle_softirqs+125], then a
        // frame at its sp); crash takes that pt_regs' ip word for a return address (a frame at the
        // ip's slot, no register block).
        { "hung", "qemu-kdump-zlib", 1, new(["[exception RIP: stop_this_cpu+107]", "handle_softirqs"], ["stop_this_cpu", "[exception RIP: handle_softirqs+125]", "handle_softirqs", "native_safe_halt"]) },
        { "bug", "qemu-kdump-zlib", 0, new(["[exception RIP: stop_this_cpu+107]"], ["stop_this_cpu", "_raw_spin_unlock_irqrestore"]) },
        // crash's stop_this_cpu is a stale return address into it one word below the dump-time sp.
        { "nmi-qemu", "qemu-elf", 1, new(["stop_this_cpu"], ["stop_this_cpu", "native_safe_halt"]) },
        // oom (panic_on_oom in a page fault of memhog) and warn (panic_on_warn from crashtest's
        // WARN): the same QEMU-dump differences as above, nothing new.
        { "oom", "qemu-kdump-zlib", -1, new([], ["delay_tsc"]) },
        { "oom", "qemu-kdump-zlib", 0, new(["[exception RIP: stop_this_cpu+107]", "sched_clock_idle_wakeup_event"], ["stop_this_cpu", "native_safe_halt"]) },
        { "warn", "qemu-kdump-zlib", -1, new(["crashtest_warn"], ["delay_tsc", "crashtest_warn"]) },
        { "warn", "qemu-kdump-zlib", 0, new(["[exception RIP: stop_this_cpu+107]", "sched_clock_idle_wakeup_event"], ["stop_this_cpu", "native_safe_halt"]) },
        // The -rt flavor (PREEMPT_RT), sysrq on CPU 0, CPU 1 idle under the reboot IPI.
        { "rt", "qemu-kdump-zlib", -1, new([], ["delay_tsc"]) },
        { "rt", "qemu-kdump-zlib", 1, new(["[exception RIP: stop_this_cpu+107]", "sched_clock_idle_wakeup_event"], ["stop_this_cpu", "native_safe_halt"]) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bt_lines_are_crash_lines(string scenario, string capture, int cpu, Diff expected)
    {
        var lab = Lab(scenario);
        var oracle = Oracles.Ensure(lab, Console.Error);
        Assert.True(lab.Metadata.Kaslr && lab.Metadata.Cpus >= 2, "the comparison runs with KASLR on and 2+ CPUs");
        var dump = lab.Files(capture);
        string crash;
        string[] args;
        if (cpu < 0)
        {
            crash = File.ReadAllText(Path.Combine(oracle, "crash-bt.txt"));
            args = ["bt", .. dump];
        }
        else
        {
            crash = Blocks(File.ReadAllText(Path.Combine(oracle, "crash-bt-a.txt")))
                .Single(b => Regex.IsMatch(b, $@"^PID: .*  CPU: {cpu} ", RegexOptions.Multiline));
            args = ["bt", "-c", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), .. dump];
        }
        var (code, kdx, err) = Run(args);
        Assert.True(code == 0, err);
        var (crashOnly, kdxOnly) = Compare(crash, kdx);
        Assert.Equal(crash.Split('\n')[0].TrimEnd(), kdx.Split('\n')[0].TrimEnd()); // PID/TASK/CPU/COMMAND header
        Assert.True(expected.CrashOnly.SequenceEqual(crashOnly) && expected.KdxOnly.SequenceEqual(kdxOnly),
            $"crash only: [{string.Join(", ", crashOnly)}]\nkdx only: [{string.Join(", ", kdxOnly)}]\n--- kdx\n{kdx}\n--- crash\n{crash}");
    }

    [Theory]
    [InlineData("sysrq-kdump", "kdump-mdf-l-d31")]
    [InlineData("oom", "qemu-kdump-zlib")]
    [InlineData("warn", "qemu-kdump-zlib")]
    [InlineData("rt", "qemu-kdump-zlib")]
    public void Bt_a_prints_every_cpu_with_crash_headers(string scenario, string capture)
    {
        var lab = Lab(scenario);
        var oracle = Oracles.Ensure(lab, Console.Error);
        var (code, kdx, err) = Run(["bt", "-a", .. lab.Files(capture)]);
        Assert.True(code == 0, err);
        var crashHeaders = Blocks(File.ReadAllText(Path.Combine(oracle, "crash-bt-a.txt"))).Select(b => b.Split('\n')[0].TrimEnd());
        Assert.Equal(crashHeaders, Blocks(kdx).Select(b => b.Split('\n')[0].TrimEnd()));
        Assert.DoesNotContain("unwind stopped", kdx);
    }

    // kdx bt --all-tasks against crash's `foreach bt`, task by task, on every crash kind and the -rt
    // flavor. Every task not running on a CPU must equal crash line for line: its walk starts at the
    // switch frame (__schedule, where __switch_to_asm returns) and ends at its entry (ret_from_fork
    // for kernel threads, the user pt_regs of a syscall, the idle task's startup code). A task
    // running on a CPU must print, on both sides, what `bt -a` prints for that CPU; Cases above
    // lists and explains how those differ.
    [Theory]
    [InlineData("sysrq-kdump", "kdump-mdf-l-d31")]
    [InlineData("nmi-qemu", "qemu-elf")]
    [InlineData("oops", "qemu-kdump-zlib")]
    [InlineData("bug", "qemu-kdump-zlib")]
    [InlineData("softlockup", "qemu-kdump-zlib")]
    [InlineData("hung", "qemu-kdump-zlib")]
    [InlineData("oom", "qemu-kdump-zlib")]
    [InlineData("warn", "qemu-kdump-zlib")]
    [InlineData("rt", "qemu-kdump-zlib")]
    public void Bt_all_tasks_is_crash_foreach_bt(string scenario, string capture)
    {
        var lab = Lab(scenario);
        var oracle = Oracles.Ensure(lab, Console.Error);
        var crash = Blocks(Oracles.Crash(lab, "foreach bt", lab.Metadata.Captures.ToList().FindIndex(c => c.Id == capture))).ToList();
        var (code, kdx, err) = Run(["bt", "--all-tasks", .. lab.Files(capture)]);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("unwind stopped", kdx);
        var blocks = Blocks(kdx).ToList();
        Assert.Equal(crash.Select(FirstLine), blocks.Select(FirstLine)); // the same tasks, in ps order

        // The running tasks: their bt -a blocks, by header.
        var crashActive = Blocks(File.ReadAllText(Path.Combine(oracle, "crash-bt-a.txt"))).ToDictionary(FirstLine, Lines);
        var (_, kdxA, _) = Run(["bt", "-a", .. lab.Files(capture)]);
        var kdxActive = Blocks(kdxA).ToDictionary(FirstLine, Lines);
        var report = new List<string>();
        var sleeping = 0;
        for (var i = 0; i < blocks.Count; i++)
        {
            var header = FirstLine(blocks[i]);
            if (crashActive.TryGetValue(header, out var crashCpu))
            {
                if (!crashCpu.SequenceEqual(Lines(crash[i])) || !kdxActive[header].SequenceEqual(Lines(blocks[i])))
                    report.Add($"{header}: running, but not printed as bt -a prints it");
                continue;
            }
            var (crashOnly, kdxOnly) = Compare(crash[i], blocks[i]);
            if (crashOnly.Count + kdxOnly.Count > 0)
                report.Add($"{header}: crash only [{string.Join(", ", crashOnly)}], kdx only [{string.Join(", ", kdxOnly)}]");
            var names = Lines(blocks[i]).Select(l => Frame().Match(l)).Where(m => m.Success).Select(m => m.Groups[2].Value).ToList();
            if (names.Count < 3 || names[0] != "__schedule" || names[^1] is not ("ret_from_fork" or "entry_SYSCALL_64_after_hwframe" or "secondary_startup_64_no_verify"))
                report.Add($"{header}: frames {string.Join(" ", names)}");
            sleeping++;
        }
        Assert.True(report.Count == 0, string.Join("\n", report));
        Assert.True(sleeping > 20, $"only {sleeping} sleeping tasks compared");
    }

    private static string FirstLine(string block) => block.Split('\n')[0].TrimEnd();

    private static string[] Lines(string block) => block.Replace("\r", "").TrimEnd('\n').Split('\n').Select(l => l.TrimEnd()).ToArray();

    [Fact]
    public void Bt_json_and_dis_on_the_panic_task()
    {
        var lab = Lab("sysrq-kdump");
        var dump = lab.Dump("kdump-mdf-l-d31");
        var (code, json, err) = Run("bt", dump, "--json");
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var t = doc.RootElement[0];
        Assert.Equal("sh", t.GetProperty("command").GetString());
        Assert.Equal("orc", t.GetProperty("method").GetString());
        Assert.True(t.GetProperty("complete").GetBoolean());
        var functions = t.GetProperty("frames").EnumerateArray()
            .Where(f => f.TryGetProperty("function", out _)).Select(f => f.GetProperty("function").GetString()).ToList();
        Assert.Equal("panic", functions[1]);
        Assert.True(t.GetProperty("frames").EnumerateArray().Last().GetProperty("regs").GetProperty("user").GetBoolean());

        // A sleeping task (init, pid 1) from its inactive_task_frame: scheduler on top, user regs at the bottom.
        (code, var sleeping, err) = Run("bt", dump, "1");
        Assert.True(code == 0, err);
        var slines = sleeping.Split('\n');
        Assert.StartsWith("PID: 1        TASK: ", slines[0]);
        Assert.Matches(@"^ #0 \[[0-9a-f]{16}\] __schedule at ", slines[1]);
        Assert.Matches(@"^ #1 \[[0-9a-f]{16}\] schedule at ", slines[2]);
        Assert.Contains("    ORIG_RAX: ", sleeping);
        Assert.DoesNotContain("unwind stopped", sleeping);
        Assert.Equal(sleeping, Run("bt", dump, slines[0][20..36]).Out); // the same task by its address

        // -v: which ORC layout was used (6.1's BTF has struct orc_entry with the end bit).
        Assert.Contains("(unwound with ORC: vmlinux ", Run("bt", dump, "-v").Out);
        Assert.Contains("BTF struct orc_entry (sp_reg:4 bp_reg:4 type:2 end:1)", Run("bt", dump, "-v").Out);

        // -f: the words between frames.
        (code, var full, _) = Run("bt", dump, "-f");
        Assert.Equal(0, code);
        Assert.Contains(full.Split('\n'), l => Regex.IsMatch(l, @"^    [0-9a-f]{16}: [0-9a-f]{16}"));

        (code, var dis, err) = Run("dis", dump, "sysrq_handle_crash");
        Assert.True(code == 0, err);
        var lines = dis.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^0xffffffff[0-9a-f]{8} <sysrq_handle_crash\+0>:\t", lines[0]);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"call\s+0x[0-9a-f]+ <panic>")); // branch target named from kallsyms
        Assert.All(lines, l => Assert.Contains("<sysrq_handle_crash+", l));
        Assert.DoesNotContain("jumptable", dis); // a string's address is not named after a far-away table

        (code, dis, _) = Run("dis", dump, "panic+0x10", "-c", "3");
        Assert.Equal(0, code);
        Assert.Equal(3, dis.TrimEnd('\n').Split('\n').Length);
        Assert.Contains("<panic+16>:", dis.Split('\n')[0]);
        Assert.Equal(1, Run("dis", dump, "no_such_symbol+4").Code);
    }

    [Fact]
    public void Bt_and_dis_on_a_kernel_they_cannot_read_are_one_line_and_exit_2()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-bt-").FullName;
        try
        {
            // A synthetic kernel with page tables and VMCOREINFO but no kallsyms in it.
            var path = Path.Combine(dir, "dump");
            File.WriteAllBytes(path, Kdx.Dump.Tests.Synthetic.KdumpWriter.Write(new Kdx.Kernel.Tests.Arch.SyntheticKernel(4).Machine));
            foreach (var args in new[] { new[] { "bt", path }, ["bt", "-a", path], ["bt", "--all-tasks", path], ["dis", path, "panic"] })
            {
                var (code, _, err) = Run(args);
                Assert.Equal(2, code);
                Assert.Single(err.TrimEnd('\n').Split('\n'));
                Assert.StartsWith("kdx: ", err);
            }
            Assert.Equal(1, Run("bt", path, "1", "-a").Code); // TASK and --all together
            Assert.Equal(1, Run("bt", path, "-a", "--all-tasks").Code);
            Assert.Equal(1, Run("bt", path, "-c", "-1").Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>crash's bt -a output: one block per CPU, separated by blank lines.</summary>
    private static IEnumerable<string> Blocks(string text) =>
        text.Replace("\r", "").Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(b => b.StartsWith("PID:", StringComparison.Ordinal));

    /// <summary>
    /// The items of a trace: frames as "[slot] name at ip" (clone suffixes dropped: crash prints DWARF
    /// names), other lines verbatim; a register line is keyed by the frame or "[exception RIP:]"
    /// line it belongs to (<c>Owner</c>), so equal register lines of two blocks never align.
    /// </summary>
    private static List<(string Key, string Summary, string? Owner)> Items(string trace)
    {
        var items = new List<(string, string, string?)>();
        string? owner = null;
        foreach (var raw in trace.Replace("\r", "").Split('\n').Skip(1))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0)
                continue;
            var m = Frame().Match(line);
            if (m.Success)
            {
                var name = Clone().Replace(m.Groups[2].Value, "");
                owner = $"[{m.Groups[1].Value}] {name} at {m.Groups[3].Value}{m.Groups[4].Value}";
                items.Add((owner, m.Groups[2].Value, null));
            }
            else if (line.TrimStart().StartsWith("[exception", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal))
            {
                owner = line.Trim();
                items.Add((owner, owner, null));
            }
            else
                items.Add(($"{owner} | {line}", "", owner));
        }
        return items;
    }

    /// <summary>
    /// Aligns kdx's items with crash's in order; returns what only crash and only kdx print. Register
    /// lines are compared but not summarised, except kdx's under a frame or exception line both print.
    /// </summary>
    private static (List<string> CrashOnly, List<string> KdxOnly) Compare(string crash, string kdx)
    {
        var c = Items(crash);
        var k = Items(kdx);
        var crashOnly = new List<string>();
        var kdxOnly = new List<string>();
        var matched = new HashSet<string>();
        var at = 0;
        foreach (var item in k)
        {
            var found = c.FindIndex(at, x => x.Key == item.Key);
            if (found < 0)
            {
                if (item.Summary.Length > 0)
                    kdxOnly.Add(item.Summary);
                else if (item.Owner is { } o && matched.Contains(o))
                    kdxOnly.Add(item.Key);
                continue;
            }
            matched.Add(item.Key);
            crashOnly.AddRange(c.Skip(at).Take(found - at).Select(x => x.Summary).Where(s => s.Length > 0));
            at = found + 1;
        }
        crashOnly.AddRange(c.Skip(at).Select(x => x.Summary).Where(s => s.Length > 0));
        return (crashOnly, kdxOnly);
    }

    [GeneratedRegex(@"^\s*#\d+ \[([0-9a-f]{16})\] (\S+) at ([0-9a-f]{16})( \[\S+\])?")]
    private static partial Regex Frame();

    [GeneratedRegex(@"\.(isra|constprop|part)\.\d+$")]
    private static partial Regex Clone();
}
