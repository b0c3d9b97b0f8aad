// Backtraces of the dumped kernel's tasks: where each walk starts (the CPU's NT_PRSTATUS registers
// for a task that was running, the inactive_task_frame at task->thread.sp for one that was not),
// which stacks it may use, and which task panicked (panic_cpu, else crashing_cpu).
using Kdx.Dump.Notes;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Tasks;

namespace Kdx.Kernel.Unwind;

public sealed class Backtracer
{
    private readonly DumpedKernel _kernel;
    private readonly IReadOnlyList<CpuState> _cpus;
    private readonly Unwinder _unwinder;
    private readonly OrcUnwindInfo? _orc;
    private readonly string _methodDetail;

    public Backtracer(DumpedKernel kernel, IReadOnlyList<CpuState> cpus)
    {
        _kernel = kernel;
        _cpus = cpus;
        var btf = kernel.Btf ?? throw KernelLayout.Missing($"pt_regs layout ({kernel.BtfProblem})");
        Stacks = new KernelStacks(kernel);
        _orc = OrcUnwindInfo.Load(kernel, out var problem);
        _methodDetail = _orc is null
            ? $"frame pointers: {problem}"
            : $"ORC: vmlinux {_orc.Vmlinux.Count} entries, {_orc.Vmlinux.Layout.Source}";
        _unwinder = new Unwinder(kernel, _orc, PtRegsLayout.From(btf));
    }

    public KernelStacks Stacks { get; }

    /// <summary>The function (vmlinux or module) of an exact ip or of a return address, and the module's name.</summary>
    public (Symbols.SymbolLocation? Symbol, string? Module) Resolve(ulong ip, bool exact = true) => _unwinder.Resolve(ip, exact);
    public int CpuCount => _cpus.Count;

    /// <summary>"ORC: vmlinux N entries, <layout source>" or "frame pointers: <why>".</summary>
    public string MethodDetail => _methodDetail;

    /// <summary>The CPU that panicked: panic_cpu (atomic_t), else x86's crashing_cpu, else null when neither names a CPU of the dump.</summary>
    public int? PanicCpu()
    {
        foreach (var name in (ReadOnlySpan<string>)["panic_cpu", "crashing_cpu"])
        {
            if (_kernel.Symbols.Lookup(name) is not { } s)
                continue;
            var cpu = _kernel.Memory.ReadS32(s.Address);
            if (cpu >= 0 && cpu < _cpus.Count)
                return cpu;
        }
        return null;
    }

    /// <summary>The CPU a task was running on at the crash, or null when it was not on any.</summary>
    public int? CpuOf(ulong task)
    {
        for (var cpu = 0; cpu < _cpus.Count; cpu++)
            if (Stacks.CurrentTask(cpu) == task)
                return cpu;
        return null;
    }

    /// <summary>The task running on <paramref name="cpu"/>, walked from that CPU's saved registers.</summary>
    public Backtrace ForCpu(int cpu)
    {
        if (cpu < 0 || cpu >= _cpus.Count)
            throw new ArgumentOutOfRangeException(nameof(cpu), $"the dump has registers of {_cpus.Count} CPUs");
        var taskAddress = Stacks.CurrentTask(cpu) ?? throw KernelLayout.Missing("SYMBOL(current_task) or SYMBOL(pcpu_hot)");
        var task = TaskList.ReadOne(_kernel, taskAddress);
        var note = _cpus[cpu].Registers;
        var values = new ulong[RegisterSet.PtRegsMembers.Length];
        for (var i = 0; i < values.Length; i++)
            values[i] = note[i]; // user_regs_struct starts with pt_regs' members, in the same order
        var stacks = new List<KernelStack> { Stacks.TaskStack(task.Stack) };
        stacks.AddRange(Stacks.CpuStacks(cpu));
        return Make(task, cpu, true, new UnwindStart(new RegisterSet(values, full: true), ExactIp: true), stacks);
    }

    /// <summary>
    /// Any task: a running one from its CPU's registers, a sleeping one from the frame
    /// __switch_to_asm left at task->thread.sp (struct inactive_task_frame from BTF).
    /// </summary>
    public Backtrace ForTask(ulong taskAddress) => ForTask(TaskList.ReadOne(_kernel, taskAddress));

    /// <inheritdoc cref="ForTask(ulong)"/>
    public Backtrace ForTask(KernelTask task)
    {
        if (CpuOf(task.Address) is { } cpu)
            return ForCpu(cpu);
        var l = _kernel.Layout;
        var values = new ulong[RegisterSet.PtRegsMembers.Length];
        ulong returnSlot;
        try
        {
            var frame = _kernel.Objects.Unsigned(task.Address, "task_struct", "thread.sp");
            returnSlot = frame + l.RequireOffset("inactive_task_frame", "ret_addr");
            values[RegisterSet.Ip] = _kernel.Memory.ReadU64(returnSlot);
            values[RegisterSet.Bp] = _kernel.Memory.ReadU64(frame + l.RequireOffset("inactive_task_frame", "bp"));
            values[RegisterSet.Sp] = frame + l.RequireSize("inactive_task_frame");
        }
        catch (Exception e) when (e is Kdx.Dump.PageNotInDumpException or UnmappedAddressException)
        {
            return new Backtrace(task, task.Cpu, false, _unwinder.Method, _methodDetail, [], false, $"the switch frame at thread.sp cannot be read: {e.Message}");
        }
        // The kernel's own segment: CPL 0, so the walk never mistakes this for a user frame.
        var start = new UnwindStart(new RegisterSet(values, full: false), ExactIp: false, returnSlot);
        return Make(task, task.Cpu, false, start, [Stacks.TaskStack(task.Stack)]);
    }

    private Backtrace Make(KernelTask task, int? cpu, bool active, UnwindStart start, IReadOnlyList<KernelStack> stacks)
    {
        var (frames, end, reason) = _unwinder.Walk(start, stacks);
        return new Backtrace(task, cpu, active, _unwinder.Method, _methodDetail, frames, end, reason);
    }
}
