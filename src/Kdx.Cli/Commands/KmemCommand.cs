// `kdx kmem -i DUMP`: crash's memory usage summary (TOTAL MEM, FREE, USED, BUFFERS, CACHED, SLAB,
// huge pages, swap, commit limit) from the kernel's own counters in the dump.
using System.CommandLine;
using Kdx.Kernel.Summary;

namespace Kdx.Cli.Commands;

public sealed class KmemCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var json = KernelDump.JsonOption();
        var vmlinux = KernelDump.VmlinuxOption();
        var info = new Option<bool>("-i") { Description = "Memory usage summary (the only kmem mode so far; required)." };
        var command = new Command("kmem", "Kernel memory of the dump, like crash's kmem -i, without debuginfo.") { dumpArg, vmlinux, info, json };
        command.SetAction(parse =>
        {
            if (!parse.GetValue(info))
                throw new UsageException("kmem: only -i (memory usage summary) is implemented");
            var (dump, kernel) = KernelDump.OpenWithTypes(parse.GetRequiredValue(dumpArg), "memory counters", parse.GetValue(vmlinux));
            using var _ = dump;
            var m = MemoryInfo.Read(kernel);
            var o = parse.InvocationConfiguration.Output;
            var rows = Rows(m).ToList();
            if (parse.GetValue(json))
            {
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartObject();
                    j.WriteNumber("page_size", m.PageSize);
                    foreach (var r in rows.Where(r => r.Label.Length > 0))
                    {
                        var name = r.Label.ToLowerInvariant().Replace(' ', '_') + "_pages";
                        if (m.Missing.ContainsKey(r.Field))
                            j.WriteNull(name); // stderr says why
                        else
                            j.WriteNumber(name, r.Pages);
                    }
                    j.WriteEndObject();
                });
                return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "kmem", m.Missing.Values);
            }
            o.WriteLine("                 PAGES        TOTAL      PERCENTAGE");
            foreach (var (label, field, pages, of, ofField, ofName) in rows)
            {
                if (label.Length == 0)
                {
                    o.WriteLine();
                    continue;
                }
                if (m.Missing.TryGetValue(field, out var gap))
                {
                    o.WriteLine($"{label,13}{"?",9}{"?",13}  {gap.Mark}");
                    continue;
                }
                var pct = of is null ? "         ----"
                    : m.Missing.ContainsKey(ofField) ? $"{"?",5}% of {ofName}"
                    : $"{(of == 0 ? 0 : pages * 100 / of.Value),5}% of {ofName}";
                o.WriteLine($"{label,13}{pages,9}{SizeText.Format(pages * m.PageSize),13}{pct}");
            }
            return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "kmem", m.Missing.Values);
        });
        return command;
    }

    /// <summary>
    /// crash's rows: label, the MemoryInfo property, pages, and the total a percentage is taken of
    /// (null: the row is a total) with its property. Empty label: blank line.
    /// </summary>
    private static IEnumerable<(string Label, string Field, ulong Pages, ulong? Of, string OfField, string OfName)> Rows(MemoryInfo m)
    {
        const string total = nameof(MemoryInfo.TotalPages), huge = nameof(MemoryInfo.HugePages), swap = nameof(MemoryInfo.SwapPages);
        yield return ("TOTAL MEM", total, m.TotalPages, null, "", "");
        yield return ("FREE", nameof(m.FreePages), m.FreePages, m.TotalPages, total, "TOTAL MEM");
        yield return ("USED", nameof(m.UsedPages), m.UsedPages, m.TotalPages, total, "TOTAL MEM");
        yield return ("BUFFERS", nameof(m.BufferPages), m.BufferPages, m.TotalPages, total, "TOTAL MEM");
        yield return ("CACHED", nameof(m.CachedPages), m.CachedPages, m.TotalPages, total, "TOTAL MEM");
        yield return ("SLAB", nameof(m.SlabPages), m.SlabPages, m.TotalPages, total, "TOTAL MEM");
        yield return ("", "", 0, null, "", "");
        yield return ("TOTAL HUGE", huge, m.HugePages, null, "", "");
        yield return ("HUGE FREE", nameof(m.HugeFreePages), m.HugeFreePages, m.HugePages, huge, "TOTAL HUGE");
        yield return ("", "", 0, null, "", "");
        yield return ("TOTAL SWAP", swap, m.SwapPages, null, "", "");
        yield return ("SWAP USED", nameof(m.SwapUsedPages), m.SwapUsedPages, m.SwapPages, swap, "TOTAL SWAP");
        yield return ("SWAP FREE", nameof(m.SwapFreePages), m.SwapFreePages, m.SwapPages, swap, "TOTAL SWAP");
        yield return ("", "", 0, null, "", "");
        yield return ("COMMIT LIMIT", nameof(m.CommitLimitPages), m.CommitLimitPages, null, "", "");
        yield return ("COMMITTED", nameof(m.CommittedPages), m.CommittedPages, m.CommitLimitPages, nameof(m.CommitLimitPages), "TOTAL LIMIT");
    }
}
