// `kdx sys DUMP`: crash's system summary (CPUS, DATE, UPTIME, LOAD AVERAGE, TASKS, utsname,
// MACHINE, MEMORY, PANIC) from the dump alone.
using System.CommandLine;
using System.Globalization;
using Kdx.Kernel.Summary;
using Kdx.Kernel.Tasks;

namespace Kdx.Cli.Commands;

public sealed class SysCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var json = KernelDump.JsonOption();
        var command = new Command("sys", "System summary of the dumped kernel, like crash's sys, without debuginfo.") { dumpArg, json };
        command.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(dumpArg);
            var (dump, kernel) = KernelDump.Open(paths, "the system summary");
            using var _ = dump;
            var s = SystemSummary.Read(kernel, TaskList.Read(kernel));
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartObject();
                    j.WriteString("dumpfile", paths[0]);
                    j.WriteNumber("cpus", s.Cpus);
                    j.WriteNumber("offline_cpus", s.OfflineCpus);
                    j.WriteString("date", s.Date.ToString("O", CultureInfo.InvariantCulture));
                    j.WriteNumber("uptime_seconds", (long)s.Uptime.TotalSeconds);
                    j.WriteStartArray("load_average");
                    foreach (var l in s.LoadAverage)
                        j.WriteNumberValue(l);
                    j.WriteEndArray();
                    j.WriteNumber("tasks", s.Tasks);
                    j.WriteString("nodename", s.NodeName);
                    j.WriteString("release", s.Release);
                    j.WriteString("version", s.Version);
                    j.WriteString("machine", s.Machine);
                    j.WriteNumber("mhz", s.CpuMhz);
                    j.WriteNumber("memory_bytes", s.MemoryBytes);
                    j.WriteString("panic", s.Panic);
                    j.WriteEndObject();
                });
            else
                foreach (var (label, value) in Lines(paths[0], s))
                    o.WriteLine($"{label,12}: {value}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>crash's labels and value formats.</summary>
    public static IEnumerable<(string Label, string Value)> Lines(string dumpFile, SystemSummary s)
    {
        var c = CultureInfo.InvariantCulture;
        yield return ("DUMPFILE", dumpFile);
        yield return ("CPUS", s.OfflineCpus == 0 ? $"{s.Cpus}" : $"{s.Cpus} [OFFLINE: {s.OfflineCpus}]");
        var d = s.Date.UtcDateTime;
        yield return ("DATE", string.Create(c, $"{d:ddd MMM} {d.Day,2} {d:HH:mm:ss} UTC {d:yyyy}"));
        var u = s.Uptime;
        var clock = $"{u.Hours:00}:{u.Minutes:00}:{u.Seconds:00}";
        yield return ("UPTIME", u.Days > 0 ? $"{u.Days} days, {clock}" : clock);
        yield return ("LOAD AVERAGE", string.Join(", ", s.LoadAverage.Select(l => l.ToString("0.00", c))));
        yield return ("TASKS", s.Tasks.ToString(c));
        yield return ("NODENAME", s.NodeName);
        yield return ("RELEASE", s.Release);
        yield return ("VERSION", s.Version);
        yield return ("MACHINE", $"{s.Machine}  ({s.CpuMhz} Mhz)");
        yield return ("MEMORY", SizeText.Format(s.MemoryBytes));
        yield return ("PANIC", $"\"{s.Panic}\"");
    }
}
