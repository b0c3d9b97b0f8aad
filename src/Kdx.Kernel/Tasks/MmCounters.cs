// Resident set of an mm the way the kernel's get_mm_rss() counts it: MM_FILEPAGES + MM_ANONPAGES
// + MM_SHMEMPAGES (indices from BTF). mm_struct.rss_stat is a struct of atomic_long_t counts
// before 6.2 and an array of percpu_counter after; with SPLIT_RSS_COUNTING (before 6.2) each
// thread also caches unflushed deltas in task_struct.rss_stat, which crash adds in too.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Objects;

namespace Kdx.Kernel.Tasks;

internal sealed class MmCounters(KernelObjects o)
{
    private static readonly string[] Counters = ["MM_FILEPAGES", "MM_ANONPAGES", "MM_SHMEMPAGES"];

    private readonly Lazy<bool> _percpu = new(() => IsPercpuCounterArray(o));

    public ulong Resident(ulong mm)
    {
        long sum = 0;
        foreach (var name in Counters)
        {
            var i = o.Enumerator(name);
            if (_percpu.Value)
            {
                // get_mm_counter() is percpu_counter_read_positive(): the shared count only.
                sum += Math.Max(0, o.Integer(o.AddressOf(mm, "mm_struct", $"rss_stat[{i}]"), "percpu_counter", "count"));
            }
            else
                sum += o.Integer(mm, "mm_struct", $"rss_stat.count[{i}].counter");
        }
        return sum < 0 ? 0 : (ulong)sum;
    }

    /// <summary>Adds each thread's cached rss deltas (task_struct.rss_stat) to every task sharing its mm.</summary>
    public void ApplyThreadCaches(List<KernelTask> tasks, KernelObjects objects, ICollection<ReadGap> gaps)
    {
        if (_percpu.Value || !objects.Has("task_struct", "rss_stat"))
            return;
        var delta = new Dictionary<ulong, long>();
        var unknown = new HashSet<ulong>();
        foreach (var t in tasks)
        {
            if (t.Mm == 0)
                continue;
            long d = 0;
            try
            {
                foreach (var name in Counters)
                    d += objects.Integer(t.Address, "task_struct", $"rss_stat.count[{objects.Enumerator(name)}]");
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                unknown.Add(t.Mm);
                gaps.Add(ReadGap.From($"the rss cache (task_struct.rss_stat) of PID {t.Pid} ({t.Comm}): RSS of its mm_struct 0x{t.Mm:x} unknown", e));
            }
            delta[t.Mm] = delta.GetValueOrDefault(t.Mm) + d;
        }
        for (var i = 0; i < tasks.Count; i++)
        {
            if (tasks[i].Mm == 0)
                continue;
            if (unknown.Contains(tasks[i].Mm))
                tasks[i] = tasks[i] with { MemoryUnread = true };
            else if (delta.TryGetValue(tasks[i].Mm, out var d) && d != 0)
                tasks[i] = tasks[i] with { ResidentPages = (ulong)Math.Max(0, (long)tasks[i].ResidentPages + d) };
        }
    }

    private static bool IsPercpuCounterArray(KernelObjects o)
    {
        var btf = o.Layout.Btf ?? throw KernelLayout.Missing("BTF");
        var t = btf.Resolve(btf.Field("mm_struct.rss_stat").Type);
        return t.Kind == BtfKind.Array;
    }
}
