// Builds a TriageReport from a dumped kernel: each section is read on its own, and one that fails
// (an excluded page, a missing symbol, no BTF) is named in Unavailable with the reason while the
// rest of the report is still made.
using System.Globalization;
using System.Text;
using Kdx.Dump.Notes;
using Kdx.Kernel;
using Kdx.Kernel.Code;
using Kdx.Kernel.Log;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Modules;
using Kdx.Kernel.Summary;
using Kdx.Kernel.Tasks;
using Kdx.Kernel.Unwind;

namespace Kdx.Triage;

public sealed class TriageBuilder
{
    /// <summary>Log lines in the report's tail.</summary>
    public const int LogTailLines = 30;

    /// <summary>Most tasks whose backtraces are taken.</summary>
    public const int MaxTaskBacktraces = 4096;

    private readonly DumpedKernel _kernel;
    private readonly IReadOnlyList<CpuState> _cpus;
    private readonly List<Unavailable> _unavailable = [];

    private TriageBuilder(DumpedKernel kernel, IReadOnlyList<CpuState> cpus)
    {
        _kernel = kernel;
        _cpus = cpus;
    }

    /// <param name="dumpFile">The dump's name as the report shows it.</param>
    /// <param name="cpus">The dump's per-CPU register notes (NT_PRSTATUS).</param>
    public static TriageReport Build(DumpedKernel kernel, IReadOnlyList<CpuState> cpus, string dumpFile) =>
        new TriageBuilder(kernel, cpus).Make(dumpFile);

    private TriageReport Make(string dumpFile)
    {
        var log = Try("log", ReadLog);
        List<string> plain = log?.Item1 ?? [], formatted = log?.Item2 ?? [];
        var bt = Try("backtraces", () => new Backtracer(_kernel, _cpus));
        var panicCpu = bt is null ? null : Try("panic CPU", () => bt.PanicCpu() ?? throw new InvalidDataException("neither panic_cpu nor crashing_cpu names a CPU of this dump"));
        Backtrace? panicTrace = bt is not null && panicCpu is { } pc ? Try("panic backtrace", () => bt.ForCpu(pc)) : null;
        var panicBt = panicTrace is null ? null : Convert(bt!, panicTrace);

        var pageSize = _kernel.VmcoreInfo.PageSize ?? 4096;
        var panic = PanicClassifier.Classify(plain, panicBt?.Frames.Select(f => f.Function is null ? "?" : CrashSignatures.Normalize(f.Function)).ToList() ?? [], pageSize);

        var tasks = Try("tasks", () => TaskList.Read(_kernel));
        var summary = tasks is null ? null : Try("system summary", () => SystemSummary.Read(_kernel, tasks));
        var traces = tasks is null ? [] : TaskTraces(tasks, bt);
        var blocked = traces.Where(t => t.State == "UN").ToList();
        ReportBacktrace? culpritBt = null;
        if (panic.Class == PanicClass.HungTask && panic.Culprit is { } cul)
            culpritBt = blocked.FirstOrDefault(b => b.Pid == cul.Pid)?.Backtrace
                ?? (tasks?.Tasks.FirstOrDefault(t => t.Pid == cul.Pid) is { } ct && bt is not null ? Try("blocked task backtrace", () => Convert(bt, bt.ForTask(ct.Address))) : null);

        var (faultIp, faultAt, dis) = bt is null || panicTrace is null ? (null, null, []) : Fault(bt, panicTrace, panicBt!);
        var report = new TriageReport
        {
            DumpFile = dumpFile,
            Panic = panic,
            Cpu = panicCpu,
            Pid = panicTrace?.Task.Pid,
            Comm = panicTrace?.Task.Comm,
            Task = panicTrace?.Task.Address,
            Backtrace = panicBt,
            CulpritBacktrace = culpritBt,
            FaultIp = faultIp,
            FaultAt = faultAt,
            Disassembly = dis,
            Release = summary?.Release ?? _kernel.VmcoreInfo.OsRelease,
            Version = summary?.Version,
            NodeName = summary?.NodeName,
            CrashTime = summary?.Date ?? (_kernel.VmcoreInfo.CrashTime is { } ct2 ? DateTimeOffset.FromUnixTimeSeconds(ct2) : null),
            UptimeSeconds = summary?.Uptime.TotalSeconds,
            LoadAverage = summary?.LoadAverage ?? [],
            TaskCount = tasks?.Tasks.Count,
            Taint = Try("taint", Taint),
            LogTail = Tail(plain, formatted),
            BlockedTasks = blocked,
            TaskBacktraces = traces,
            Memory = Try("memory summary", Memory),
            Cpus = tasks is null ? [] : [.. tasks.ActiveByCpu.OrderBy(a => a.Key).Select(a => new CpuTask(a.Key, a.Value.Pid, a.Value.Comm, a.Key == panicCpu))],
            Signature = CrashSignatures.Of(panic, panicBt, culpritBt),
            Unavailable = _unavailable,
        };
        return report with { NextSteps = NextSteps.For(report) };
    }

    private T? Try<T>(string section, Func<T> read) where T : class
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _unavailable.Add(new Unavailable(section, e.Message));
            return null;
        }
    }

    private int? Try(string section, Func<int> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _unavailable.Add(new Unavailable(section, e.Message));
            return null;
        }
    }

    /// <summary>The log as plain text lines (what the classifier reads) and as crash's `log` lines, one to one.</summary>
    private Tuple<List<string>, List<string>> ReadLog()
    {
        var plain = new List<string>();
        var formatted = new List<string>();
        var options = new LogFormatOptions();
        var sb = new StringBuilder();
        foreach (var r in _kernel.Log.Records)
        {
            var text = (r.Raw ?? r.Text).Split('\n');
            sb.Clear();
            LogFormatter.AppendRecord(sb, r, options);
            var shown = sb.ToString().TrimEnd('\n').Split('\n');
            for (var i = 0; i < text.Length; i++)
            {
                plain.Add(text[i]);
                formatted.Add(i < shown.Length ? shown[i] : text[i]);
            }
        }
        return Tuple.Create(plain, formatted);
    }

    /// <summary>The last lines up to and including the panic line (the log's end when there is none).</summary>
    private static List<string> Tail(List<string> plain, List<string> formatted)
    {
        var end = plain.FindLastIndex(l => l.StartsWith("Kernel panic - not syncing", StringComparison.Ordinal));
        end = end < 0 ? formatted.Count : end + 1;
        var from = Math.Max(0, end - LogTailLines);
        return formatted.GetRange(from, end - from);
    }

    private static ReportBacktrace Convert(Backtracer bt, Backtrace b)
    {
        var frames = new List<ReportFrame>(b.Frames.Count);
        foreach (var f in b.Frames)
        {
            if (f.Stack == "user")
                continue;
            var frame = new ReportFrame(f.Symbol?.Symbol.Name, f.Module, f.Symbol?.Offset ?? 0, f.Ip, f.Stack);
            if (f.Regs is { UserMode: false } regs)
            {
                var at = bt.Resolve(regs.InstructionPointer);
                frame = frame with
                {
                    ExceptionIp = regs.InstructionPointer,
                    ExceptionAt = at.Symbol is { } s ? Where(s.Symbol.Name, s.Offset, at.Module) : $"0x{regs.InstructionPointer:x}",
                };
            }
            frames.Add(frame);
        }
        return new ReportBacktrace(b.Task.Pid, b.Task.Comm, b.Task.Address, b.Cpu, frames, b.ReachedEnd ? null : b.StopReason);
    }

    private static string Where(string name, ulong offset, string? module) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}+0x{offset:x}{(module is null ? "" : $" [{module}]")}");

    /// <summary>The instruction the exception or interrupt stopped (innermost kernel pt_regs), with a few around it.</summary>
    private (ulong? Ip, string? At, IReadOnlyList<string> Lines) Fault(Backtracer bt, Backtrace raw, ReportBacktrace shown)
    {
        var frame = shown.Frames.FirstOrDefault(f => f.ExceptionIp is not null);
        if (frame?.ExceptionIp is not { } ip)
            return (null, null, []);
        var lines = Try("faulting instruction", () =>
        {
            var at = bt.Resolve(ip);
            if (at.Symbol is not { } s)
                throw new InvalidDataException($"no symbol covers 0x{ip:x}, so its function start is unknown");
            var insns = KernelDisassembler.Around(_kernel.Memory, _kernel.Symbols, ip - s.Offset, ip, 5, 3)
                ?? throw new InvalidDataException($"0x{ip:x} is not an instruction boundary of {s.Symbol.Name}");
            return insns.Select(i => (i.Address == ip ? "=> " : "   ") + (at.Module is null || i.Location is not null
                ? i.ToString()
                : string.Create(CultureInfo.InvariantCulture, $"0x{i.Address:x16} <{s.Symbol.Name}+{i.Address - (ip - s.Offset)}>:\t{i.Text}"))).ToList();
        });
        return (ip, frame.ExceptionAt, lines ?? []);
    }

    private List<TaskTrace> TaskTraces(TaskList tasks, Backtracer? bt)
    {
        var list = new List<TaskTrace>();
        foreach (var t in tasks.Tasks)
        {
            if (list.Count == MaxTaskBacktraces)
            {
                _unavailable.Add(new Unavailable("task backtraces", $"more than {MaxTaskBacktraces} tasks; the first {MaxTaskBacktraces} are unwound"));
                break;
            }
            ReportBacktrace? trace = null;
            string? problem = null;
            if (bt is null)
                problem = "no unwinder (see backtraces)";
            else
            {
                try
                {
                    trace = Convert(bt, bt.ForTask(t.Address));
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    problem = e.Message;
                }
            }
            list.Add(new TaskTrace(t.Pid, t.Comm, t.Address, t.StateName, trace, problem));
        }
        return list;
    }

    private TaintInfo Taint()
    {
        var mask = _kernel.Memory.ReadU64(_kernel.RequireSymbol("tainted_mask"));
        var letters = KernelModules.Letters(_kernel, mask);
        var modules = new List<TaintedModule>();
        try
        {
            foreach (var m in KernelModules.Read(_kernel))
                if (m.Taints != 0)
                    modules.Add(new TaintedModule(m.Name, m.TaintLetters, TaintWords.Words(m.TaintLetters)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _unavailable.Add(new Unavailable("tainting modules", e.Message));
        }
        return new TaintInfo(mask, letters, TaintWords.Words(letters), modules);
    }

    private MemorySummary Memory()
    {
        var m = MemoryInfo.Read(_kernel);
        var p = m.PageSize;
        return new MemorySummary(m.TotalPages * p, m.FreePages * p, m.UsedPages * p, m.BufferPages * p, m.CachedPages * p, m.SlabPages * p, m.SwapPages * p, m.SwapFreePages * p);
    }
}
