// What crash's `sys` reports, read from the dump alone: CPUs from the present/online masks, the
// crash time (VMCOREINFO CRASHTIME, else the timekeeper's xtime_sec), uptime from jiffies_64 and HZ
// (HZ = NSEC_PER_SEC / tick_nsec), load average from avenrun, utsname from init_uts_ns, the CPU
// clock from cpu_khz, memory from the nodes' present pages, and the panic line from the log.
using Kdx.Kernel.Memory;
using Kdx.Kernel.Tasks;

namespace Kdx.Kernel.Summary;

public sealed record SystemSummary
{
    public required int Cpus { get; init; }
    public required int OfflineCpus { get; init; }
    public required DateTimeOffset Date { get; init; }
    public required TimeSpan Uptime { get; init; }
    public required double[] LoadAverage { get; init; }
    public required int Tasks { get; init; }
    public required string NodeName { get; init; }
    public required string Release { get; init; }
    public required string Version { get; init; }
    public required string Machine { get; init; }
    public required ulong CpuMhz { get; init; }
    public required ulong MemoryBytes { get; init; }
    public required string Panic { get; init; }

    /// <summary>Fixed-point shift of avenrun (FSHIFT in include/linux/sched/loadavg.h).</summary>
    private const int LoadShift = 11;

    /// <summary>
    /// Fields the dump could not give (key: the property name, e.g. "LoadAverage"), with why; such a
    /// field holds 0 or "" and must be shown as missing, not as that value.
    /// </summary>
    public IReadOnlyDictionary<string, ReadGap> Missing { get; init; } = new Dictionary<string, ReadGap>();

    public static SystemSummary Read(DumpedKernel kernel, TaskList tasks)
    {
        var o = kernel.Objects;
        var m = kernel.Memory;
        var missing = new Dictionary<string, ReadGap>();
        ulong Sym(string name) => kernel.RequireSymbol(name);
        T Field<T>(string field, string what, Func<T> read, T unknown)
        {
            try
            {
                return read();
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                missing[field] = ReadGap.From(what, e);
                return unknown;
            }
        }

        var uts = kernel.Layout.RequireSymbol("init_uts_ns") + kernel.Layout.RequireOffset("uts_namespace", "name");
        string Uts(string field, string member) => Field(field, $"init_uts_ns.name.{member} at 0x{o.AddressOf(uts, "new_utsname", member):x}", () => o.CharArray(uts, "new_utsname", member), "");

        var uptime = Field("Uptime", $"jiffies_64 at 0x{Sym("jiffies_64"):x} or tick_nsec at 0x{Sym("tick_nsec"):x}", () =>
        {
            var hz = (ulong)Math.Round(1e9 / m.ReadU64(Sym("tick_nsec")));
            var initialJiffies = (ulong)(uint)(-300 * (long)hz); // INITIAL_JIFFIES: wraps 5 minutes after boot
            var jiffies = m.ReadU64(Sym("jiffies_64"));
            return TimeSpan.FromSeconds((double)((jiffies - initialJiffies) / hz));
        }, TimeSpan.Zero);

        var avenrun = Sym("avenrun");
        var load = Field("LoadAverage", $"avenrun at 0x{avenrun:x}", () =>
        {
            var l = new double[3];
            for (var i = 0; i < 3; i++)
            {
                var v = m.ReadU64(avenrun + (ulong)i * 8);
                // LOAD_INT + LOAD_FRAC of avenrun + FIXED_1/200, i.e. rounded to hundredths as /proc/loadavg and crash print it.
                v += (1UL << LoadShift) / 200;
                l[i] = (v >> LoadShift) + ((v & ((1UL << LoadShift) - 1)) * 100 >> LoadShift) / 100.0;
            }
            return l;
        }, [0, 0, 0]);

        var pageSize = kernel.VmcoreInfo.PageSize ?? throw KernelLayout.Missing("PAGESIZE");
        var (cpus, offline) = Field("Cpus", "the CPU masks (__cpu_present_mask, __cpu_online_mask)",
            () => (kernel.Cpus.Present.Count, kernel.Cpus.Present.Count(c => !kernel.Cpus.Online.Contains(c))), (0, 0));
        var date = Field("Date", "the crash time (no CRASHTIME in VMCOREINFO; tk_core.timekeeper.xtime_sec)",
            () => DateTimeOffset.FromUnixTimeSeconds(kernel.VmcoreInfo.CrashTime ?? XtimeSeconds(kernel)), DateTimeOffset.UnixEpoch);
        return new SystemSummary
        {
            Cpus = cpus,
            OfflineCpus = offline,
            Date = date,
            Uptime = uptime,
            LoadAverage = load,
            Tasks = tasks.Tasks.Count,
            NodeName = Uts("NodeName", "nodename"),
            Release = Uts("Release", "release"),
            Version = Uts("Version", "version"),
            Machine = Uts("Machine", "machine"),
            CpuMhz = Field("CpuMhz", $"cpu_khz at 0x{Sym("cpu_khz"):x}", () => m.ReadU32(Sym("cpu_khz")) / 1000UL, 0UL),
            // crash's total_node_memory(): the present pages of the online nodes, not max_pfn (which counts firmware holes).
            MemoryBytes = Field("MemoryBytes", "the present pages of the memory nodes (node_present_pages)", () => RoundToGiB(PresentPages(kernel) * pageSize), 0UL),
            Panic = Field("Panic", "the kernel log (printk ring buffer)", () => PanicLine(kernel), ""),
            Missing = missing,
        };
    }

    /// <summary>
    /// tk_core is an unnamed struct { seqcount_raw_spinlock_t seq; struct timekeeper timekeeper; }:
    /// the timekeeper follows the seqcount, aligned to its own 8-byte alignment.
    /// </summary>
    private static long XtimeSeconds(DumpedKernel kernel)
    {
        var o = kernel.Objects;
        var tkCore = kernel.Symbols.Lookup("tk_core")?.Address ?? throw KernelLayout.Missing("symbol tk_core");
        var seq = o.SizeOf("seqcount_raw_spinlock_t");
        var timekeeper = tkCore + (seq + 7) / 8 * 8;
        return o.Integer(timekeeper, "timekeeper", "xtime_sec");
    }

    /// <summary>Like crash, a size less than 64 MiB short of a whole GiB counts as that GiB (firmware holes).</summary>
    private static ulong RoundToGiB(ulong bytes)
    {
        const ulong GiB = 1UL << 30;
        var next = (bytes + GiB - 1) / GiB * GiB;
        return next - bytes <= 64UL << 20 ? next : bytes;
    }

    /// <summary>
    /// Pages of physical memory: node_present_pages of every online node (node_data[] on NUMA
    /// kernels, contig_page_data otherwise). crash's ps computes %MEM against this, not totalram.
    /// </summary>
    public static ulong PresentPages(DumpedKernel kernel)
    {
        var o = kernel.Objects;
        if (kernel.SymbolAddress("node_data") is not { } nodeData)
            return o.Unsigned(kernel.RequireSymbol("contig_page_data"), "pglist_data", "node_present_pages");
        var online = kernel.RequireSymbol("node_online_map");
        var maxNodes = o.SizeOf("nodemask_t") * 8;
        ulong pages = 0;
        for (ulong node = 0; node < maxNodes; node++)
        {
            if ((kernel.Memory.ReadU64(online + node / 64 * 8) >> (int)(node % 64) & 1) == 0)
                continue;
            var pgdat = kernel.Memory.ReadPointer(nodeData + node * 8);
            if (pgdat != 0)
                pages += o.Unsigned(pgdat, "pglist_data", "node_present_pages");
        }
        return pages;
    }

    /// <summary>totalram_pages: the atomic_long_t _totalram_pages (5.0+) or the plain unsigned long before.</summary>
    public static ulong TotalRamPages(DumpedKernel kernel) =>
        kernel.Memory.ReadU64(kernel.SymbolAddress("_totalram_pages") ?? kernel.RequireSymbol("totalram_pages"));

    private static string PanicLine(DumpedKernel kernel)
    {
        var records = kernel.Log.Records;
        for (var i = records.Count - 1; i >= 0; i--)
        {
            var text = records[i].Text;
            if (text.StartsWith("Kernel panic - not syncing", StringComparison.Ordinal))
                return text.TrimEnd('\n', ' ');
        }
        return "";
    }
}
