// The stacks a CPU can run on, with their bounds: the task's stack (task_struct.stack, THREAD_SIZE),
// the per-CPU hard-IRQ stack and the per-CPU exception (IST) stacks. Sizes and member offsets come
// from BTF (thread_union or irq_stack, struct cea_exception_stacks), per-CPU addresses from kallsyms
// plus __per_cpu_offset[cpu]. The unwinder only follows stack pointers that stay inside these.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

/// <summary>One stack: [Start, End). <see cref="Name"/> is what crash calls it ("NMI exception stack", "IRQ stack", "task stack").</summary>
public readonly record struct KernelStack(string Name, ulong Start, ulong End)
{
    public bool Contains(ulong address) => address >= Start && address < End;
    public bool IsTaskStack => Name == TaskStackName;
    public const string TaskStackName = "task stack";
}

public sealed class KernelStacks(DumpedKernel kernel)
{
    private readonly Lazy<ulong> _threadSize = new(() => ThreadSizeOf(kernel));

    /// <summary>THREAD_SIZE: sizeof(union thread_union) when BTF has it, else sizeof(struct irq_stack) (equal on x86_64).</summary>
    public ulong ThreadSize => _threadSize.Value;

    private static ulong ThreadSizeOf(DumpedKernel kernel)
    {
        var btf = kernel.Btf ?? throw KernelLayout.Missing("THREAD_SIZE (no BTF)");
        return btf.SizeOf("thread_union") ?? btf.SizeOf("irq_stack") ?? throw KernelLayout.Missing("SIZE(thread_union) or SIZE(irq_stack)");
    }

    /// <summary>The per-CPU address of per-CPU variable <paramref name="symbol"/> on <paramref name="cpu"/>, or null when the symbol is unknown.</summary>
    public ulong? PerCpuAddress(string symbol, int cpu)
    {
        if (kernel.Symbols.Lookup(symbol) is not { } s || kernel.Symbols.Lookup("__per_cpu_offset") is not { } offsets)
            return null;
        return s.Address + kernel.Memory.ReadU64(offsets.Address + 8 * (ulong)cpu);
    }

    /// <summary>
    /// A per-CPU value that moved into struct pcpu_hot in 6.2 (current_task, hardirq_stack_ptr):
    /// the address of pcpu_hot.member when pcpu_hot exists, else of the old per-CPU variable.
    /// </summary>
    public ulong? PerCpuHot(string member, int cpu)
    {
        if (PerCpuAddress("pcpu_hot", cpu) is { } hot && kernel.Btf?.OffsetOf("pcpu_hot", member) is { } off)
            return hot + off;
        return PerCpuAddress(member, cpu);
    }

    /// <summary>The task_struct running on <paramref name="cpu"/> (per-CPU current_task), or null when unknown.</summary>
    public ulong? CurrentTask(int cpu) => PerCpuHot("current_task", cpu) is { } p ? kernel.Memory.ReadPointer(p) : null;

    public KernelStack TaskStack(ulong stackBase) => new(KernelStack.TaskStackName, stackBase, stackBase + ThreadSize);

    /// <summary>The IRQ and exception stacks of <paramref name="cpu"/> that can be found; unreadable ones are left out.</summary>
    public IReadOnlyList<KernelStack> CpuStacks(int cpu)
    {
        var list = new List<KernelStack>();
        try
        {
            if (PerCpuHot("hardirq_stack_ptr", cpu) is { } p && kernel.Btf?.SizeOf("irq_stack") is { } irqSize)
            {
                // hardirq_stack_ptr points at the last word of the stack (top - 8).
                var top = kernel.Memory.ReadPointer(p) + 8;
                if (top > irqSize)
                    list.Add(new KernelStack("IRQ stack", top - irqSize, top));
            }
        }
        catch (Exception e) when (e is Kdx.Dump.PageNotInDumpException or UnmappedAddressException)
        {
        }
        try
        {
            if (PerCpuAddress("cea_exception_stacks", cpu) is { } p && kernel.Btf?.Find("cea_exception_stacks", BtfKind.Struct) is { } t)
            {
                var stacks = kernel.Memory.ReadPointer(p);
                foreach (var m in t.Members)
                {
                    if (!m.Name.EndsWith("_stack", StringComparison.Ordinal) || kernel.Btf.SizeOf(m.Type) is not { } size)
                        continue;
                    var start = stacks + m.BitOffset / 8;
                    list.Add(new KernelStack($"{m.Name[..^"_stack".Length]} exception stack", start, start + size));
                }
            }
        }
        catch (Exception e) when (e is Kdx.Dump.PageNotInDumpException or UnmappedAddressException)
        {
        }
        return list;
    }
}
