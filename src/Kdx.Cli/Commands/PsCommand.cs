// `kdx ps DUMP`: every task of the dumped kernel in crash's ps columns ('>' marks the task
// running on each CPU; per-CPU idle tasks appear as swapper/N), from the dump alone.
using System.CommandLine;
using System.Globalization;
using Kdx.Kernel.Summary;
using Kdx.Kernel.Tasks;

namespace Kdx.Cli.Commands;

public sealed class PsCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var json = KernelDump.JsonOption();
        var command = new Command("ps", "List the dumped kernel's tasks, like crash's ps, without debuginfo.") { dumpArg, json };
        command.SetAction(parse =>
        {
            var (dump, kernel) = KernelDump.Open(parse.GetRequiredValue(dumpArg), "the task list");
            using var _ = dump;
            var tasks = TaskList.Read(kernel).Tasks;
            var physical = SystemSummary.PresentPages(kernel);
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
                        j.WriteNumber("ppid", t.ParentPid);
                        j.WriteNumber("tgid", t.Tgid);
                        j.WriteNumber("cpu", t.Cpu);
                        j.WriteString("task", $"0x{t.Address:x}");
                        j.WriteString("state", t.StateName);
                        j.WriteBoolean("active", t.Active);
                        j.WriteBoolean("kernel_thread", t.IsKernelThread);
                        j.WriteNumber("vsz_kb", t.VirtualPages * pageKb);
                        j.WriteNumber("rss_kb", t.ResidentPages * pageKb);
                        j.WriteString("comm", t.Comm);
                        j.WriteEndObject();
                    }
                    j.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            o.WriteLine("      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM");
            foreach (var t in tasks)
                o.WriteLine(Row(t, physical, pageKb));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One ps line in crash's layout.</summary>
    public static string Row(KernelTask t, ulong physicalPages, ulong pageKb)
    {
        var mem = physicalPages == 0 ? 0 : t.ResidentPages * 100.0 / physicalPages;
        var comm = t.IsKernelThread ? $"[{t.Comm}]" : t.Comm;
        return string.Create(CultureInfo.InvariantCulture,
            $"{(t.Active ? '>' : ' ')}{t.Pid,8}{t.ParentPid,8}{t.Cpu,4}  {t.Address:x16}  {t.StateName}  {mem,4:0.0}{t.VirtualPages * pageKb,9}{t.ResidentPages * pageKb,9}  {comm}");
    }
}
