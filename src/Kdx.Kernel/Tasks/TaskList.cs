// Every task of the dumped kernel, the way crash builds its task table: the per-CPU idle tasks
// (runqueues.idle; CPU 0's is init_task), then init_task.tasks with each process's threads
// (signal->thread_head/thread_node, or thread_group on kernels before 3.14's list), each marked
// active when it is its CPU's runqueues.curr. All layout from VMCOREINFO and BTF.
// Memory the dump lacks costs only what lives there: a task_struct that cannot be read is left
// out, an unreadable mm_struct leaves VSZ/RSS unknown, a broken list is walked from its other end;
// each is recorded in Gaps.
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Objects;

namespace Kdx.Kernel.Tasks;

public sealed class TaskList
{
    private const string Task = "task_struct";

    private readonly KernelObjects _o;
    private readonly DumpedKernel _kernel;
    private readonly MmCounters _mm;
    private readonly List<ReadGap> _gaps = [];

    private TaskList(DumpedKernel kernel)
    {
        _o = kernel.Objects;
        _kernel = kernel;
        _mm = new MmCounters(_o);
    }

    /// <summary>What could not be read (tasks left out, lists walked around a break, unknown memory use).</summary>
    public IReadOnlyList<ReadGap> Gaps => _gaps;

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
        foreach (var cpu in PresentCpus())
        {
            var rq = 0UL;
            try
            {
                rq = _kernel.Cpus.PerCpu("runqueues", cpu);
                active[_o.Pointer(rq, "rq", "curr")] = cpu;
                idle.TryAdd(_o.Pointer(rq, "rq", "idle"), cpu);
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                _gaps.Add(ReadGap.From($"the runqueue of CPU {cpu}{(rq == 0 ? "" : $" at 0x{rq:x}")} (its running and idle task)", e));
            }
        }
        return (active, idle);
    }

    private void Load(ulong initTask)
    {
        var (active, idle) = RunQueues();

        var addresses = new List<ulong>(idle.Keys);
        var seen = new HashSet<ulong>(addresses);
        foreach (var leader in _o.ReadList(_o.AddressOf(initTask, Task, "tasks"), Task, "tasks", _gaps, "the task list (init_task.tasks)"))
            foreach (var t in Threads(leader))
                if (seen.Add(t))
                    addresses.Add(t);

        var tasks = new List<KernelTask>(addresses.Count);
        foreach (var a in addresses)
        {
            try
            {
                tasks.Add(ReadTask(a, active.ContainsKey(a), idle.ContainsKey(a)));
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                _gaps.Add(ReadGap.From($"task_struct at 0x{a:x} (the task is left out)", e));
            }
        }
        tasks.Sort((x, y) => x.Pid != y.Pid ? x.Pid.CompareTo(y.Pid) : x.Cpu.CompareTo(y.Cpu));
        _mm.ApplyThreadCaches(tasks, _o, _gaps);
        Tasks = tasks;
        var byCpu = new Dictionary<int, KernelTask>();
        foreach (var t in tasks)
            if (t.Active)
                byCpu[active[t.Address]] = t;
        ActiveByCpu = byCpu;
    }

    private IReadOnlyList<int> PresentCpus()
    {
        try
        {
            return _kernel.Cpus.Present;
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            _gaps.Add(ReadGap.From("the CPU masks (no idle or running tasks are known)", e));
            return [];
        }
    }

    /// <summary>A process's threads, the leader first.</summary>
    private List<ulong> Threads(ulong leader)
    {
        var what = $"the threads of task 0x{leader:x}";
        if (_o.Has(Task, "thread_node") && _o.Has("signal_struct", "thread_head"))
        {
            ulong signal;
            try
            {
                signal = _o.Pointer(leader, Task, "signal");
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                _gaps.Add(ReadGap.From($"{what} (task_struct.signal)", e));
                return [leader];
            }
            List<ulong> threads = [leader];
            foreach (var t in _o.ReadList(_o.AddressOf(signal, "signal_struct", "thread_head"), Task, "thread_node", _gaps, what))
                if (t != leader)
                    threads.Add(t);
            return threads;
        }
        return [leader, .. _o.ReadList(_o.AddressOf(leader, Task, "thread_group"), Task, "thread_group", _gaps, what)];
    }

    private KernelTask ReadTask(ulong a, bool active, bool idle)
    {
        var state = _o.Unsigned(a, Task, _o.Has(Task, "__state") ? "__state" : "state");
        var exit = _o.Unsigned(a, Task, "exit_state");
        var flags = _o.Unsigned(a, Task, "flags");
        var mm = _o.Pointer(a, Task, "mm");
        var parent = _o.Pointer(a, Task, "real_parent");
        var pid = (int)_o.Integer(a, Task, "pid");
        var comm = _o.CharArray(a, Task, "comm");
        ulong vsz = 0, rss = 0;
        var memoryUnread = false;
        try
        {
            if (mm != 0)
                (vsz, rss) = (_o.Unsigned(mm, "mm_struct", "total_vm"), _mm.Resident(mm));
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            memoryUnread = true;
            _gaps.Add(ReadGap.From($"mm_struct at 0x{mm:x} of PID {pid} ({comm}): VSZ and RSS unknown", e));
        }
        // crash gives the idle tasks (pid 0) parent 0 although the secondary CPUs' were forked by pid 1.
        var parentPid = 0;
        var parentUnread = false;
        try
        {
            parentPid = parent == 0 || idle ? 0 : (int)_o.Integer(parent, Task, "pid");
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            parentUnread = true;
            _gaps.Add(ReadGap.From($"the parent task_struct at 0x{parent:x} of PID {pid} ({comm}): PPID unknown", e));
        }
        return new KernelTask
        {
            Address = a,
            Pid = pid,
            Tgid = (int)_o.Integer(a, Task, "tgid"),
            ParentPid = parentPid,
            ParentUnread = parentUnread,
            MemoryUnread = memoryUnread,
            Comm = comm,
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
