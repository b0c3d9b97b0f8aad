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
        var vmlinux = KernelDump.VmlinuxOption();
        var command = new Command("sys", "System summary of the dumped kernel, like crash's sys, without debuginfo.") { dumpArg, vmlinux, json };
        command.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(dumpArg);
            var (dump, kernel) = KernelDump.OpenWithTypes(paths, "the system summary", parse.GetValue(vmlinux));
            using var _ = dump;
            var tasks = TaskList.Read(kernel);
            var s = SystemSummary.Read(kernel, tasks);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartObject();
                    j.WriteString("dumpfile", paths[0]);
                    // A field the dump lacks is null (stderr says why).
                    void Field(string name, string field, Action<string> write)
                    {
                        if (s.Missing.ContainsKey(field))
                            j.WriteNull(name);
                        else
                            write(name);
                    }
                    Field("cpus", "Cpus", n => j.WriteNumber(n, s.Cpus));
                    Field("offline_cpus", "Cpus", n => j.WriteNumber(n, s.OfflineCpus));
                    Field("date", "Date", n => j.WriteString(n, s.Date.ToString("O", CultureInfo.InvariantCulture)));
                    Field("uptime_seconds", "Uptime", n => j.WriteNumber(n, (long)s.Uptime.TotalSeconds));
                    Field("load_average", "LoadAverage", n =>
                    {
                        j.WriteStartArray(n);
                        foreach (var l in s.LoadAverage)
                            j.WriteNumberValue(l);
                        j.WriteEndArray();
                    });
                    j.WriteNumber("tasks", s.Tasks);
                    j.WriteBoolean("tasks_complete", tasks.Gaps.Count == 0);
                    Field("nodename", "NodeName", n => j.WriteString(n, s.NodeName));
                    Field("release", "Release", n => j.WriteString(n, s.Release));
                    Field("version", "Version", n => j.WriteString(n, s.Version));
                    Field("machine", "Machine", n => j.WriteString(n, s.Machine));
                    Field("mhz", "CpuMhz", n => j.WriteNumber(n, s.CpuMhz));
                    Field("memory_bytes", "MemoryBytes", n => j.WriteNumber(n, s.MemoryBytes));
                    Field("panic", "Panic", n => j.WriteString(n, s.Panic));
                    j.WriteEndObject();
                });
            else
                foreach (var (label, value) in Lines(paths[0], s, tasks.Gaps.Count > 0))
                    o.WriteLine($"{label,12}: {value}");
            return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "sys", [.. s.Missing.Values, .. tasks.Gaps]);
        });
        return command;
    }

    /// <summary>crash's labels and value formats; a field the dump lacks shows why instead (e.g. "(page excluded from dump)").</summary>
    public static IEnumerable<(string Label, string Value)> Lines(string dumpFile, SystemSummary s, bool tasksIncomplete = false)
    {
        var c = CultureInfo.InvariantCulture;
        string Or(string field, Func<string> value) => s.Missing.TryGetValue(field, out var gap) ? gap.Mark : value();
        yield return ("DUMPFILE", dumpFile);
        yield return ("CPUS", Or("Cpus", () => s.OfflineCpus == 0 ? $"{s.Cpus}" : $"{s.Cpus} [OFFLINE: {s.OfflineCpus}]"));
        var d = s.Date.UtcDateTime;
        yield return ("DATE", Or("Date", () => string.Create(c, $"{d:ddd MMM} {d.Day,2} {d:HH:mm:ss} UTC {d:yyyy}")));
        var u = s.Uptime;
        var clock = $"{u.Hours:00}:{u.Minutes:00}:{u.Seconds:00}";
        yield return ("UPTIME", Or("Uptime", () => u.Days > 0 ? $"{u.Days} days, {clock}" : clock));
        yield return ("LOAD AVERAGE", Or("LoadAverage", () => string.Join(", ", s.LoadAverage.Select(l => l.ToString("0.00", c)))));
        yield return ("TASKS", s.Tasks.ToString(c) + (tasksIncomplete ? " (incomplete: see stderr)" : ""));
        yield return ("NODENAME", Or("NodeName", () => s.NodeName));
        yield return ("RELEASE", Or("Release", () => s.Release));
        yield return ("VERSION", Or("Version", () => s.Version));
        yield return ("MACHINE", Or("Machine", () => s.Machine) + "  (" + Or("CpuMhz", () => $"{s.CpuMhz} Mhz") + ")");
        yield return ("MEMORY", Or("MemoryBytes", () => SizeText.Format(s.MemoryBytes)));
        yield return ("PANIC", Or("Panic", () => $"\"{s.Panic}\""));
    }
}
