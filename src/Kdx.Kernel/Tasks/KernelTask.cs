// One task of the dumped kernel as crash's ps shows it: ids, state, CPU, memory use, and where
// its kernel stack is (for backtraces).
namespace Kdx.Kernel.Tasks;

public sealed record KernelTask
{
    /// <summary>Address of the task_struct.</summary>
    public required ulong Address { get; init; }
    public required int Pid { get; init; }
    public required int Tgid { get; init; }
    public required int ParentPid { get; init; }
    public required string Comm { get; init; }
    public required int Cpu { get; init; }

    /// <summary>task_struct.__state (or .state before 5.14).</summary>
    public required ulong State { get; init; }
    public required ulong ExitState { get; init; }
    public required ulong Flags { get; init; }
    public required ulong Mm { get; init; }

    /// <summary>task_struct.stack: the lowest address of the task's kernel stack (THREAD_SIZE bytes).</summary>
    public required ulong Stack { get; init; }

    /// <summary>The task was running on its CPU when the dump was taken (crash's '>').</summary>
    public bool Active { get; init; }

    /// <summary>A per-CPU idle task (swapper/N), which is not on the tasks list.</summary>
    public bool Idle { get; init; }

    /// <summary>crash's two-letter state (RU, IN, UN, ID, ZO, ...).</summary>
    public required string StateName { get; init; }

    public required bool IsKernelThread { get; init; }

    /// <summary>Virtual size in pages (mm->total_vm), 0 for kernel threads.</summary>
    public ulong VirtualPages { get; init; }

    /// <summary>Resident pages (file + anon + shmem counters), 0 for kernel threads.</summary>
    public ulong ResidentPages { get; init; }

    /// <summary>The mm_struct (or a thread's rss cache) is not in the dump: VSZ and RSS are unknown, not 0.</summary>
    public bool MemoryUnread { get; init; }

    /// <summary>The parent's task_struct is not in the dump: ParentPid is unknown, not 0.</summary>
    public bool ParentUnread { get; init; }
}
