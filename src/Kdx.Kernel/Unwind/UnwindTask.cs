// The few task_struct fields a backtrace needs (pid, comm, stack, thread.sp, cpu), read through
// BTF offsets, and finding a task by pid along init_task's process list and each process's
// thread list. Deliberately minimal: the full task model (ps) lives elsewhere.
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

public sealed record UnwindTask(ulong Address, int Pid, string Comm, ulong StackBase, ulong ThreadSp, int? Cpu)
{
    /// <summary>Most tasks visited when looking one up by pid (guards against a corrupt, cyclic list).</summary>
    public const int MaxTasks = 1 << 20;

    public static UnwindTask Read(DumpedKernel kernel, ulong task)
    {
        var l = kernel.Layout;
        var m = kernel.Memory;
        // TASK_COMM_LEN from BTF's char array; 16 (its value since 2.6) when BTF cannot say.
        var commSize = kernel.Btf is { } btf && btf.TryField("task_struct.comm", out var f, out _) && btf.SizeOf(f.Type) is { } n and > 0 and <= 256
            ? (int)n
            : 16;
        var cpuOffset = l.Offset("task_struct", "thread_info.cpu") ?? l.Offset("task_struct", "cpu");
        return new UnwindTask(
            task,
            m.ReadS32(task + l.RequireOffset("task_struct", "pid")),
            m.ReadCString(task + l.RequireOffset("task_struct", "comm"), commSize),
            m.ReadPointer(task + l.RequireOffset("task_struct", "stack")),
            m.ReadU64(task + l.RequireOffset("task_struct", "thread.sp")),
            cpuOffset is { } c ? m.ReadS32(task + c) : null);
    }

    /// <summary>The task with this pid (a process or a thread), or null; walks init_task.tasks and signal->thread_head.</summary>
    public static ulong? FindByPid(DumpedKernel kernel, int pid)
    {
        var l = kernel.Layout;
        var m = kernel.Memory;
        var init = kernel.Symbols.Lookup("init_task")?.Address ?? throw KernelLayout.Missing("SYMBOL(init_task)");
        var tasks = l.RequireOffset("task_struct", "tasks");
        var pidOff = l.RequireOffset("task_struct", "pid");
        var threadNode = l.Offset("task_struct", "thread_node");
        var signal = l.Offset("task_struct", "signal");
        var threadHead = l.Offset("signal_struct", "thread_head");
        var visited = 0;
        var p = init;
        do
        {
            if (m.ReadS32(p + pidOff) == pid)
                return p;
            if (threadNode is { } tn && signal is { } so && threadHead is { } th)
            {
                var head = m.ReadPointer(p + so) + th;
                for (var n = m.ReadPointer(head); n != head && n != 0; n = m.ReadPointer(n))
                {
                    if (++visited > MaxTasks)
                        return null;
                    if (m.ReadS32(n - tn + pidOff) == pid)
                        return n - tn;
                }
            }
            p = m.ReadPointer(p + tasks) - tasks;
            if (++visited > MaxTasks)
                return null;
        }
        while (p != init);
        return null;
    }
}
