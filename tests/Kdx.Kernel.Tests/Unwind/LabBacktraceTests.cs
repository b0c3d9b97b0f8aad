// The panic task's backtrace on real lab dumps, from the dump alone, against drgn 0.3 (which
// unwinds with the -dbg vmlinux's DWARF): the same functions in the same order. What kdx cannot
// see without DWARF is named here, not skipped: drgn's inlined frames (functions that have no
// kallsyms symbol), DWARF names for compiler clones ("__handle_sysrq" for kallsyms'
// "__handle_sysrq.cold") and for labels inside assembly functions (drgn's "entry_SYSCALL_64",
// kallsyms' "entry_SYSCALL_64_after_hwframe"). drgn's last line is the user-mode pc, which must be
// the ip of the user pt_regs kdx stopped at.
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
        // scenario, capture, drgn frames expected to be inlined (no kallsyms symbol)
        { "sysrq-kdump", "kdump-mdf-l-d31", ["crash_setup_regs", "pde_write", "do_syscall_x64"] },
        { "nmi-qemu", "qemu-elf", [] },
        { "oops", "qemu-kdump-zlib", [] },
    };

    internal static LabResult Lab(string name) => LabCatalog.Build(name switch
    {
        "sysrq-kdump" => LabCatalog.SysrqKdump(),
        "nmi-qemu" => LabCatalog.NmiQemu(),
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

        Assert.Equal(int.Parse(drgn[0][5..], CultureInfo.InvariantCulture), trace.Task.Pid);
        Assert.True(trace.ReachedEnd, trace.StopReason);
        var expected = new List<string>();
        var dropped = new List<string>();
        ulong? userPc = null;
        foreach (var name in drgn.Skip(1))
        {
            if (name.StartsWith("0x", StringComparison.Ordinal))
                userPc = ulong.Parse(name[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            else if (kernel.Symbols.Lookup(name) is null)
                dropped.Add(name);
            else
                expected.Add(name);
        }
        Assert.Equal(inlined, dropped);
        var frames = trace.Frames.Where(f => f.Stack != "user").ToList();
        Assert.Equal(expected.Count, frames.Count);
        for (var i = 0; i < frames.Count; i++)
            Assert.True(SameFunction(kernel, expected[i], frames[i]), $"frame {i}: drgn {expected[i]}, kdx {frames[i].Name} at 0x{frames[i].Ip:x}");
        if (userPc is { } pc)
            Assert.Equal(pc, trace.UserRegs?.InstructionPointer);
        else
            Assert.Null(trace.UserRegs);
    }

    /// <summary>drgn's DWARF name and kdx's kallsyms name denote the same code.</summary>
    private static bool SameFunction(DumpedKernel kernel, string drgnName, BacktraceFrame frame)
    {
        var name = CloneSuffix().Replace(frame.Name, "");
        if (name == drgnName)
            return true;
        // A label inside an assembly function (entry_SYSCALL_64_after_hwframe in entry_SYSCALL_64).
        return frame.Name.StartsWith(drgnName + "_", StringComparison.Ordinal)
            && kernel.Symbols.Lookup(drgnName) is { } s && s.Address <= frame.Ip;
    }

    /// <summary>GCC's clone suffixes (.cold, .isra.N, .constprop.N, .part.N), which DWARF names do not carry.</summary>
    [GeneratedRegex(@"(\.(cold|isra|constprop|part|lto_priv)(\.\d+)?)+$")]
    private static partial Regex CloneSuffix();
}
