// `kdx ps DUMP`: every task of the dumped kernel in crash's ps columns ('>' marks the task
// running on each CPU; per-CPU idle tasks appear as swapper/N), from the dump alone.
using System.CommandLine;
using System.Globalization;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Summary;
using Kdx.Kernel.Tasks;

namespace Kdx.Cli.Commands;

public sealed class PsCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var json = KernelDump.JsonOption();
        var vmlinux = KernelDump.VmlinuxOption();
        var command = new Command("ps", "List the dumped kernel's tasks, like crash's ps, without debuginfo.") { dumpArg, vmlinux, json };
        command.SetAction(parse =>
        {
            var (dump, kernel) = KernelDump.OpenWithTypes(parse.GetRequiredValue(dumpArg), "the task list", parse.GetValue(vmlinux));
            using var _ = dump;
            var list = TaskList.Read(kernel);
            var tasks = list.Tasks;
            var gaps = new List<ReadGap>();
            var physical = 0UL;
            try
            {
                physical = SystemSummary.PresentPages(kernel);
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                gaps.Add(ReadGap.From("the present pages of the memory nodes (node_data[]->node_present_pages): %MEM unknown", e));
            }
            var pageKb = (kernel.VmcoreInfo.PageSize ?? 4096) / 1024;
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartArray();
                    foreach (var t in tasks)
                    {
                        j.WriteStartObject();
                        j.WriteNumber("pid", t.Pid);
                        if (t.ParentUnread)
                            j.WriteNull("ppid");
                        else
                            j.WriteNumber("ppid", t.ParentPid);
                        j.WriteNumber("tgid", t.Tgid);
                        j.WriteNumber("cpu", t.Cpu);
                        j.WriteString("task", $"0x{t.Address:x}");
                        j.WriteString("state", t.StateName);
                        j.WriteBoolean("active", t.Active);
                        j.WriteBoolean("kernel_thread", t.IsKernelThread);
                        if (t.MemoryUnread)
                        {
                            j.WriteNull("vsz_kb");
                            j.WriteNull("rss_kb");
                        }
                        else
                        {
                            j.WriteNumber("vsz_kb", t.VirtualPages * pageKb);
                            j.WriteNumber("rss_kb", t.ResidentPages * pageKb);
                        }
                        j.WriteString("comm", t.Comm);
                        j.WriteEndObject();
                    }
                    j.WriteEndArray();
                });
            }
            else
            {
                o.WriteLine("      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM");
                foreach (var t in tasks)
                    o.WriteLine(Row(t, physical, pageKb));
            }
            return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "ps", [.. list.Gaps, .. gaps]);
        });
        return command;
    }

    /// <summary>One ps line in crash's layout; a value the dump lacks (PPID, %MEM/VSZ/RSS; %MEM when <paramref name="physicalPages"/> is 0) is "?".</summary>
    public static string Row(KernelTask t, ulong physicalPages, ulong pageKb)
    {
        var c = CultureInfo.InvariantCulture;
        var mem = t.ResidentPages * 100.0 / physicalPages;
        var comm = t.IsKernelThread ? $"[{t.Comm}]" : t.Comm;
        var ppid = t.ParentUnread ? "?" : t.ParentPid.ToString(c);
        var (pct, vsz, rss) = t.MemoryUnread
            ? ("?", "?", "?")
            : (physicalPages == 0 ? "?" : mem.ToString("0.0", c), (t.VirtualPages * pageKb).ToString(c), (t.ResidentPages * pageKb).ToString(c));
        return string.Create(c, $"{(t.Active ? '>' : ' ')}{t.Pid,8}{ppid,8}{t.Cpu,4}  {t.Address:x16}  {t.StateName}  {pct,4}{vsz,9}{rss,9}  {comm}");
    }
}
