// The renderers on a real report: JSON carries every documented key (docs/triage.md) with the
// report's values, text and markdown show the same essentials, and a dump whose pages the report
// needs are missing still gives a report that says what could not be read.
using System.Text.Json;
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Lab;
using Kdx.Triage.Rendering;

namespace Kdx.Triage.Tests;

[Trait("Category", "Lab")]
public class ReportFormatTests
{
    public static readonly string[] DocumentedKeys =
    [
        "kdx_triage_format", "dump", "panic_class", "panic_description", "panic_message", "summary", "details", "evidence",
        "culprit", "fault_address", "cpu", "pid", "comm", "task", "backtrace", "backtrace_frames", "culprit_backtrace", "fault_ip", "fault_at",
        "disassembly", "release", "version", "nodename", "crash_time", "uptime_seconds", "load_average", "tasks", "taint",
        "log_tail", "blocked_tasks", "task_backtraces", "memory", "cpus", "signature", "signature_frames", "signature_hash", "next_steps", "unavailable",
    ];

    private static string Render(TriageReport r, Action<TriageReport, TextWriter> write)
    {
        var sw = new StringWriter();
        write(r, sw);
        return sw.ToString();
    }

    [Fact]
    public void Json_has_every_documented_key_and_the_report_s_values()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Hung));
        using var doc = JsonDocument.Parse(Render(r, JsonReport.Write));
        var root = doc.RootElement;
        Assert.Equal(DocumentedKeys.Order(), root.EnumerateObject().Select(p => p.Name).Order());
        var docs = File.ReadAllText(Path.Combine(LabPaths.Repo, "docs", "triage.md"));
        Assert.All(DocumentedKeys, k => Assert.Contains($"`{k}`", docs));

        Assert.Equal("hung_task", root.GetProperty("panic_class").GetString());
        Assert.Equal(r.Pid, root.GetProperty("pid").GetInt32());
        Assert.Equal("khungtaskd", root.GetProperty("comm").GetString());
        Assert.Equal(r.Backtrace!.Frames.Select(f => f.Name), root.GetProperty("backtrace").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(r.Signature.Hash, root.GetProperty("signature_hash").GetString());
        Assert.Contains("O", root.GetProperty("taint").GetProperty("letters").GetString());
        Assert.InRange(root.GetProperty("uptime_seconds").GetInt64(), 1, 3600);
        Assert.Equal(TriageBuilder.LogTailLines, root.GetProperty("log_tail").GetArrayLength());
        Assert.EndsWith("Kernel panic - not syncing: hung_task: blocked tasks", root.GetProperty("log_tail")[TriageBuilder.LogTailLines - 1].GetString());
        Assert.Contains("crashtest_trigger_set", root.GetProperty("culprit_backtrace").EnumerateArray().Select(e => e.GetString()));
        var blocked = root.GetProperty("blocked_tasks").EnumerateArray().Single(b => b.GetProperty("comm").GetString() == "sh");
        Assert.Contains("crashtest_trigger_set", blocked.GetProperty("backtrace").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Text_and_markdown_show_class_task_signature_and_next_steps()
    {
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Oops));
        foreach (var text in new[] { Render(r, TextReport.Write), Render(r, MarkdownReport.Write) })
        {
            Assert.Contains("oops", text);
            Assert.Contains(r.Signature.Hash, text);
            Assert.Contains("crashtest", text);
            Assert.Contains("Fatal exception", text);
            Assert.Contains("pid " + r.Pid, text);
        }
        Assert.Contains("<details>", Render(r, MarkdownReport.Write));
    }

    [Fact]
    public void A_dump_missing_the_log_s_pages_still_gives_a_report()
    {
        var lab = TriageLab.Kind(CrashKind.Sysrq);
        var full = TriageLab.Report(lab);
        // Take away the page holding the printk ring buffer's descriptor ring, as a dump level that
        // excluded it would: the log cannot be read, everything else can.
        ulong descs;
        using (var dump = DumpFile.Open([.. lab.Files(lab.Metadata.Captures[0].Id)]))
        {
            var info = dump.VmcoreInfo!;
            var memory = Kdx.Kernel.Arch.X86_64.KernelMemory.Open(dump);
            var prb = memory.ReadPointer(info.Symbol("prb")!.Value);
            descs = memory.ReadPointer(prb + info.Offset("printk_ringbuffer", "desc_ring")!.Value + info.Offset("prb_desc_ring", "descs")!.Value);
        }
        var r = TriageLab.Report(lab, wrap: m => new ExcludingMemory(m, descs & ~0xfffUL));
        var missing = Assert.Single(r.Unavailable, u => u.Section == "log");
        Assert.Contains("excluded", missing.Reason);
        Assert.Empty(r.LogTail);
        // Still classified, from the backtrace this time, with the same task, CPU and signature.
        Assert.Equal(PanicClass.Sysrq, r.Panic.Class);
        Assert.Equal((full.Pid, full.Cpu, full.Signature.Hash), (r.Pid, r.Cpu, r.Signature.Hash));
        Assert.NotNull(r.Taint);
        Assert.NotEmpty(r.Cpus);
        var text = Render(r, TextReport.Write);
        Assert.Contains("UNAVAILABLE", text);
        Assert.Contains("log: ", text);
    }

    /// <summary>The dump's memory with one page taken out, reported the way the dump reader reports an excluded page.</summary>
    private sealed class ExcludingMemory(IKernelMemory inner, ulong page) : IKernelMemory
    {
        public void Read(ulong vaddr, Span<byte> destination)
        {
            if (vaddr < page + 4096 && vaddr + (ulong)destination.Length > page)
                throw new PageNotInDumpException(((Kdx.Kernel.Arch.X86_64.X86_64AddressSpace)inner).Translate(page), PageAbsence.Excluded);
            inner.Read(vaddr, destination);
        }
    }
}
