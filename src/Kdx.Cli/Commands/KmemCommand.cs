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
        var info = new Option<bool>("-i") { Description = "Memory usage summary (the only kmem mode so far; required)." };
        var command = new Command("kmem", "Kernel memory of the dump, like crash's kmem -i, without debuginfo.") { dumpArg, info, json };
        command.SetAction(parse =>
        {
            if (!parse.GetValue(info))
                throw new UsageException("kmem: only -i (memory usage summary) is implemented");
            var (dump, kernel) = KernelDump.Open(parse.GetRequiredValue(dumpArg), "memory counters");
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
                        j.WriteNumber(r.Label.ToLowerInvariant().Replace(' ', '_') + "_pages", r.Pages);
                    j.WriteEndObject();
                });
                return ExitCodes.Ok;
            }
            o.WriteLine("                 PAGES        TOTAL      PERCENTAGE");
            foreach (var (label, pages, of, ofName) in rows)
            {
                if (label.Length == 0)
                {
                    o.WriteLine();
                    continue;
                }
                var pct = of is null ? "         ----" : $"{(of == 0 ? 0 : pages * 100 / of.Value),5}% of {ofName}";
                o.WriteLine($"{label,13}{pages,9}{SizeText.Format(pages * m.PageSize),13}{pct}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>crash's rows: label, pages, and the total a percentage is taken of (null: the row is a total). Empty label: blank line.</summary>
    private static IEnumerable<(string Label, ulong Pages, ulong? Of, string OfName)> Rows(MemoryInfo m)
    {
        yield return ("TOTAL MEM", m.TotalPages, null, "");
        yield return ("FREE", m.FreePages, m.TotalPages, "TOTAL MEM");
        yield return ("USED", m.UsedPages, m.TotalPages, "TOTAL MEM");
        yield return ("BUFFERS", m.BufferPages, m.TotalPages, "TOTAL MEM");
        yield return ("CACHED", m.CachedPages, m.TotalPages, "TOTAL MEM");
        yield return ("SLAB", m.SlabPages, m.TotalPages, "TOTAL MEM");
        yield return ("", 0, null, "");
        yield return ("TOTAL HUGE", m.HugePages, null, "");
        yield return ("HUGE FREE", m.HugeFreePages, m.HugePages, "TOTAL HUGE");
        yield return ("", 0, null, "");
        yield return ("TOTAL SWAP", m.SwapPages, null, "");
        yield return ("SWAP USED", m.SwapUsedPages, m.SwapPages, "TOTAL SWAP");
        yield return ("SWAP FREE", m.SwapFreePages, m.SwapPages, "TOTAL SWAP");
        yield return ("", 0, null, "");
        yield return ("COMMIT LIMIT", m.CommitLimitPages, null, "");
        yield return ("COMMITTED", m.CommittedPages, m.CommitLimitPages, "TOTAL LIMIT");
    }
}
