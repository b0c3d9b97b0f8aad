// Every task of the dumped kernel, the way crash builds its task table: the per-CPU idle tasks
// (runqueues.idle; CPU 0's is init_task), then init_task.tasks with each process's threads
// (signal->thread_head/thread_node, or thread_group on kernels before 3.14's list), each marked
// active when it is its CPU's runqueues.curr. All layout from VMCOREINFO and BTF.
using Kdx.Dump;
using Kdx.Kernel.Objects;

namespace Kdx.Kernel.Tasks;

public sealed class TaskList
{
    private const string Task = "task_struct";

    private readonly KernelObjects _o;
    private readonly KernelCpus _cpus;
    private readonly MmCounters _mm;

    private TaskList(DumpedKernel kernel)
    {
        _o = kernel.Objects;
        _cpus = kernel.Cpus;
        _mm = new MmCounters(_o);
    }

    /// <summary>Tasks sorted as crash's ps lists them (by pid, idle tasks by CPU).</summary>
    public IReadOnlyList<KernelTask> Tasks { get; private set; } = [];

    /// <summary>CPU number → the task running there.</summary>
    public IReadOnlyDictionary<int, KernelTask> ActiveByCpu { get; private set; } = new Dictionary<int, KernelTask>();

    public static TaskList Read(DumpedKernel kernel)
    {
        var list = new TaskList(kernel);
        list.Load(kernel.Symbols.Lookup("init_task")?.Address ?? throw KernelLayout.Missing("symbol init_task"));
        return list;
    }

    /// <summary>
    /// The task_struct at <paramref name="address"/> alone (for a backtrace of one task), marked
    /// active or idle as <see cref="Read"/> does; its resident pages leave out the other threads'
    /// cached rss deltas, which only the whole list can add up.
    /// </summary>
    public static KernelTask ReadOne(DumpedKernel kernel, ulong address)
    {
        var list = new TaskList(kernel);
        var (active, idle) = list.RunQueues();
        return list.ReadTask(address, active.ContainsKey(address), idle.ContainsKey(address));
    }

    /// <summary>Each CPU's running task (runqueues.curr) and idle task (runqueues.idle).</summary>
    private (Dictionary<ulong, int> Active, Dictionary<ulong, int> Idle) RunQueues()
    {
        var active = new Dictionary<ulong, int>();
        var idle = new Dictionary<ulong, int>();
        foreach (var cpu in _cpus.Present)
        {
            var rq = _cpus.PerCpu("runqueues", cpu);
            active[_o.Pointer(rq, "rq", "curr")] = cpu;
            idle.TryAdd(_o.Pointer(rq, "rq", "idle"), cpu);
        }
        return (active, idle);
    }

    private void Load(ulong initTask)
    {
        var (active, idle) = RunQueues();

        var addresses = new List<ulong>(idle.Keys);
        var seen = new HashSet<ulong>(addresses);
        foreach (var leader in _o.ListEntries(_o.AddressOf(initTask, Task, "tasks"), Task, "tasks"))
            foreach (var t in Threads(leader))
                if (seen.Add(t))
                    addresses.Add(t);

        var tasks = new List<KernelTask>(addresses.Count);
        foreach (var a in addresses)
            tasks.Add(ReadTask(a, active.ContainsKey(a), idle.ContainsKey(a)));
        tasks.Sort((x, y) => x.Pid != y.Pid ? x.Pid.CompareTo(y.Pid) : x.Cpu.CompareTo(y.Cpu));
        _mm.ApplyThreadCaches(tasks, _o);
        Tasks = tasks;
        var byCpu = new Dictionary<int, KernelTask>();
        foreach (var t in tasks)
            if (t.Active)
                byCpu[active[t.Address]] = t;
        ActiveByCpu = byCpu;
    }

    /// <summary>A process's threads, the leader first.</summary>
    private IEnumerable<ulong> Threads(ulong leader)
    {
        yield return leader;
        if (_o.Has(Task, "thread_node") && _o.Has("signal_struct", "thread_head"))
        {
            var signal = _o.Pointer(leader, Task, "signal");
            foreach (var t in _o.ListEntries(_o.AddressOf(signal, "signal_struct", "thread_head"), Task, "thread_node"))
                if (t != leader)
                    yield return t;
        }
        else
        {
            foreach (var t in _o.ListEntries(_o.AddressOf(leader, Task, "thread_group"), Task, "thread_group"))
                yield return t;
        }
    }

    private KernelTask ReadTask(ulong a, bool active, bool idle)
    {
        var state = _o.Unsigned(a, Task, _o.Has(Task, "__state") ? "__state" : "state");
        var exit = _o.Unsigned(a, Task, "exit_state");
        var flags = _o.Unsigned(a, Task, "flags");
        var mm = _o.Pointer(a, Task, "mm");
        var parent = _o.Pointer(a, Task, "real_parent");
        var (vsz, rss) = mm == 0 ? (0UL, 0UL) : (_o.Unsigned(mm, "mm_struct", "total_vm"), _mm.Resident(mm));
        return new KernelTask
        {
            Address = a,
            Pid = (int)_o.Integer(a, Task, "pid"),
            Tgid = (int)_o.Integer(a, Task, "tgid"),
            // crash gives the idle tasks (pid 0) parent 0 although the secondary CPUs' were forked by pid 1.
            ParentPid = parent == 0 || idle ? 0 : (int)_o.Integer(parent, Task, "pid"),
            Comm = _o.CharArray(a, Task, "comm"),
            Cpu = (int)_o.Integer(a, Task, _o.Has(Task, "cpu") ? "cpu" : "thread_info.cpu"),
            State = state,
            ExitState = exit,
            Flags = flags,
            Mm = mm,
            Stack = _o.Pointer(a, Task, "stack"),
            Active = active,
            Idle = idle,
            StateName = TaskStates.Name(state, exit),
            IsKernelThread = (flags & TaskStates.KernelThreadFlag) != 0,
            VirtualPages = vsz,
            ResidentPages = rss,
        };
    }
}
