// The panic task's backtrace on real lab dumps, from the dump alone, against drgn 0.3 (which
// unwinds with the -dbg vmlinux's DWARF): kdx's frames are drgn's frames, in order. What kdx cannot
// see without DWARF is listed per scenario, not skipped: drgn's inlined frames (it shows a frame per
// inlined call, kdx one per real call), DWARF names for compiler clones ("__handle_sysrq" for
// kallsyms' "__handle_sysrq.cold") and enclosing functions of labels inside assembly
// ("entry_SYSCALL_64" for "entry_SYSCALL_64_after_hwframe"). drgn has no debug info for the
// crashtest module and prints its frames as kernel hex pcs, which must be kdx's ips. drgn's first
// user-space hex line is the user-mode pc, which must be the ip of the user pt_regs where kdx
// stopped; drgn keeps guessing through user stack words after it, kdx does not.
// The oom and warn kinds are compared on QEMU ELF captures (LabCatalog.KindElf): drgn 0.3's
// libkdumpfile cannot open QEMU's kdump-zlib files (LabCatalog.Kind) at all, flattened or
// reassembled with makedumpfile -R ("kdump_get_string_attr(KDUMP_ATTR_ARCH_NAME): Key has no
// value", oracle/drgn-error.txt), even when given the dump's VMCOREINFO; crash reads both.
using System.Globalization;
using System.Text.RegularExpressions;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Unwind;
using Kdx.Lab;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests.Unwind;

public partial class LabBacktraceTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string[]> Scenarios => new()
    {
        // scenario, capture, drgn frames that are inlined calls (no frame of their own on the stack)
        { "sysrq-kdump", "kdump-mdf-l-d31", ["crash_setup_regs", "pde_write", "do_syscall_x64"] },
        // nmi_panic and unknown_nmi_error: drgn shows the inlined call and the function (.cold part) each.
        { "nmi-qemu", "qemu-elf", ["__preempt_count_add", "nmi_panic", "unknown_nmi_error", "prepare_bprm_creds", "do_execve", "__do_sys_execve", "__se_sys_execve", "do_syscall_x64"] },
        // check_panic_on_oom is inlined into out_of_memory (kdx: out_of_memory.cold, where panic is called).
        { "oom-elf", "qemu-elf", ["__preempt_count_add", "check_panic_on_oom", "__alloc_pages_may_oom", "alloc_page_vma", "do_anonymous_page", "handle_pte_fault", "handle_page_fault"] },
        // check_panic_on_warn twice, like nmi_panic above: the inlined call and the .cold part.
        { "warn-elf", "qemu-elf", ["__preempt_count_add", "check_panic_on_warn", "__report_bug", "call_write_iter", "new_sync_write", "do_syscall_x64"] },
    };

    internal static LabResult Lab(string name) => LabCatalog.Build(name switch
    {
        "sysrq-kdump" => LabCatalog.SysrqKdump(),
        "nmi-qemu" => LabCatalog.NmiQemu(),
        _ when name.EndsWith("-elf", StringComparison.Ordinal) => LabCatalog.KindElf(Enum.Parse<CrashKind>(name[..^4], ignoreCase: true)),
        _ => LabCatalog.Kind(Enum.Parse<CrashKind>(name, ignoreCase: true)),
    });

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Panic_task_functions_equal_drgn(string scenario, string capture, string[] inlined)
    {
        var lab = Lab(scenario);
        var oracle = Oracles.Ensure(lab, Console.Error);
        var drgn = File.ReadAllLines(Path.Combine(oracle, "drgn-bt.txt"));
        Assert.True(drgn.Length > 1 && drgn[0].StartsWith("PID: ", StringComparison.Ordinal), $"drgn oracle is empty: {string.Join('\n', drgn)}");

        using var dump = DumpFile.Open([.. lab.Files(capture)]);
        var kernel = new DumpedKernel(KernelMemory.Open(dump), dump.VmcoreInfo!);
        var bt = new Backtracer(kernel, dump.Cpus);
        var trace = bt.ForCpu(bt.PanicCpu() ?? throw new InvalidOperationException("no panic cpu"));
        foreach (var f in trace.Frames)
            output.WriteLine($"{f.Index} {f.Slot:x} {f.Name} {f.Ip:x}");
        output.WriteLine($"stop: {trace.ReachedEnd} {trace.StopReason}");

        Assert.True(lab.Metadata.Kaslr && lab.Metadata.Cpus >= 2, "the comparison runs with KASLR on and 2+ CPUs");
        Assert.Equal(int.Parse(drgn[0][5..], CultureInfo.InvariantCulture), trace.Task.Pid);
        Assert.True(trace.ReachedEnd, trace.StopReason);
        var names = drgn.Skip(1).TakeWhile(n => Pc(n) is not { } pc || pc >= KernelSpace).ToList();
        var userPc = drgn.Skip(1).Select(Pc).FirstOrDefault(pc => pc < KernelSpace);

        // Greedy in-order match: each kdx frame takes the next drgn frame of the same name (else of
        // the assembly function its label lies in: check_panic_on_warn, just below __warn, must not
        // take __warn's frame); the drgn frames passed over are the inlined ones.
        var frames = trace.Frames.Where(f => f.Stack != "user").ToList();
        var passed = new List<string>();
        var at = 0;
        foreach (var f in frames)
        {
            var exact = names.FindIndex(at, n => Pc(n) is { } pc ? pc == f.Ip : n == CloneSuffix().Replace(f.Name, ""));
            while (at < names.Count && (exact >= 0 ? at < exact : !SameFunction(kernel, names[at], f)))
                passed.Add(names[at++]);
            Assert.True(at < names.Count, $"kdx frame {f.Index} {f.Name} at 0x{f.Ip:x} is not among drgn's frames after those matched");
            at++;
        }
        passed.AddRange(names.Skip(at));
        Assert.Equal(inlined, passed);
        if (userPc is { } pc)
            Assert.Equal(pc, trace.UserRegs?.InstructionPointer);
        else
            Assert.Null(trace.UserRegs);
    }

    /// <summary>The lowest kernel address (x86_64's upper half).</summary>
    private const ulong KernelSpace = 0xffff800000000000;

    /// <summary>A drgn line that is a pc without a name ("0x47b7a0"), or null.</summary>
    private static ulong? Pc(string line) => line.StartsWith("0x", StringComparison.Ordinal)
        ? ulong.Parse(line[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
        : null;

    /// <summary>drgn's DWARF name (or bare pc, in a module it has no debug info for) and kdx's kallsyms name denote the same code.</summary>
    private static bool SameFunction(DumpedKernel kernel, string drgnName, BacktraceFrame frame)
    {
        if (Pc(drgnName) is { } pc)
            return pc == frame.Ip;
        var name = CloneSuffix().Replace(frame.Name, "");
        if (name == drgnName)
            return true;
        // A label inside an assembly function (entry_SYSCALL_64_after_hwframe or end_repeat_nmi inside
        // entry_SYSCALL_64 or asm_exc_nmi): drgn's function starts at most a page below the label.
        return frame.Symbol is { } label && kernel.Symbols.Lookup(drgnName) is { } s
            && s.Address < label.Symbol.Address && label.Symbol.Address - s.Address < 0x1000
            && label.Symbol.Type is 'T' or 't' && kernel.Symbols.Resolve(s.Address)?.Symbol.Name == drgnName;
    }

    /// <summary>GCC's clone suffixes (.cold, .isra.N, .constprop.N, .part.N), which DWARF names do not carry.</summary>
    [GeneratedRegex(@"(\.(cold|isra|constprop|part|lto_priv)(\.\d+)?)+$")]
    private static partial Regex CloneSuffix();
}
