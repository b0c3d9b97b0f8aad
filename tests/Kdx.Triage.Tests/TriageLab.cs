// The lab scenarios these tests triage, each report made once per test run, and crash 9's view
// of the same dump (its `bt` header and frames) to check the report's task, CPU and frames.
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;
using Kdx.Lab;

namespace Kdx.Triage.Tests;

public static partial class TriageLab
{
    private static readonly ConcurrentDictionary<string, Lazy<TriageReport>> Reports = new();

    /// <summary>The triage report of a scenario's capture (its first one by default).</summary>
    public static TriageReport Report(LabResult lab, string? capture = null, Func<IKernelMemory, IKernelMemory>? wrap = null)
    {
        capture ??= lab.Metadata.Captures[0].Id;
        var key = $"{lab.Directory}|{capture}|{(wrap is null ? "" : "wrapped")}";
        if (wrap is not null)
            return Make(lab, capture, wrap);
        return Reports.GetOrAdd(key, _ => new Lazy<TriageReport>(() => Make(lab, capture, null))).Value;
    }

    private static TriageReport Make(LabResult lab, string capture, Func<IKernelMemory, IKernelMemory>? wrap)
    {
        using var dump = DumpFile.Open([.. lab.Files(capture)]);
        IKernelMemory memory = KernelMemory.Open(dump);
        if (wrap is not null)
            memory = wrap(memory);
        var kernel = new DumpedKernel(memory, dump.VmcoreInfo!);
        return TriageBuilder.Build(kernel, dump.Cpus, lab.Dump(capture));
    }

    public static LabResult Kind(CrashKind kind, int boot = 0) => LabCatalog.Build(LabCatalog.Kind(kind, boot));

    /// <summary>crash's `bt` of the panic task: PID, CPU, COMMAND, the functions in order, the exception RIP's function.</summary>
    public sealed record CrashBt(int Pid, int Cpu, string Command, IReadOnlyList<string> Functions, string? ExceptionFunction);

    public static CrashBt CrashBacktrace(LabResult lab)
    {
        var text = File.ReadAllText(Path.Combine(Oracles.Ensure(lab, Console.Error), "crash-bt.txt"));
        var h = CrashHeader().Match(text);
        Assert.True(h.Success, $"no bt header in crash's output: {text}");
        var frames = CrashFrame().Matches(text).Select(m => m.Groups[1].Value).ToList();
        var ex = CrashException().Match(text);
        return new CrashBt(int.Parse(h.Groups[1].Value), int.Parse(h.Groups[2].Value), h.Groups[3].Value, frames,
            ex.Success ? ex.Groups[1].Value : null);
    }

    [GeneratedRegex(@"PID: (\d+)\s+TASK: \S+\s+CPU: (\d+)\s+COMMAND: ""(.*)""")]
    private static partial Regex CrashHeader();

    [GeneratedRegex(@"#\d+ \[[0-9a-f]+\] (\S+) at ")]
    private static partial Regex CrashFrame();

    [GeneratedRegex(@"\[exception RIP: ([^+\]]+)")]
    private static partial Regex CrashException();
}
