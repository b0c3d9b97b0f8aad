// `kdx verify DUMP...`: read back every page a dump stores — decompress each kdump page, copy
// each ELF page — on all CPUs, and say whether the file is whole. Before a dump is shipped,
// archived or triaged, this answers "is every page in it readable?" and names the damaged
// ones by pfn and file offset. Exit 0 intact, 2 damaged pages (or unreadable file), 3 incomplete.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Kdx.Dump;

namespace Kdx.Cli.Commands;

public sealed class VerifyCommand : KdxCommand
{
    /// <summary>Exit code when no stored page is damaged but the writer was cut short (pages lost).</summary>
    public const int IncompleteExit = 3;

    public override Command Build()
    {
        var dumps = KernelDump.DumpArgument();
        var threads = new Option<int>("--threads", "-j") { Description = "Pages are decompressed on this many threads (default: the CPUs available).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var list = new Option<int>("--list") { Description = "Damaged pages listed, lowest pfns first (default 20; all are counted).", DefaultValueFactory = _ => 20 };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing when the dump is intact." };
        var command = new Command("verify", "Read and decompress every page a dump stores, in parallel; report damaged pages with their file offsets. Exit 0 intact, 2 damaged, 3 incomplete.")
        {
            dumps, threads, list, quiet,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(threads);
            if (n is < 1 or > 1024)
                throw new UsageException("verify: --threads must be 1-1024");
            var listed = parse.GetValue(list);
            if (listed < 0)
                throw new UsageException("verify: --list must be 0 or more");
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumps));
            var clock = Stopwatch.StartNew();
            var result = PageScanner.Scan(dump, new PageScanOptions { Threads = n, MaxDamagedListed = listed });
            var seconds = clock.Elapsed.TotalSeconds;
            var o = parse.InvocationConfiguration.Output;
            if (!(parse.GetValue(quiet) && result.IsIntact))
                Write(dump, result, seconds, n, o);
            if (result.Damaged > 0)
            {
                var first = result.DamagedPages.Count > 0 ? result.DamagedPages[0] : null;
                parse.InvocationConfiguration.Error.WriteLine(first is null
                    ? $"kdx: {dump.Paths[0]}: {result.Damaged} damaged pages"
                    : $"kdx: {first.File}: offset 0x{first.Offset:x}: {first.Problem} (pfn 0x{first.Pfn:x}; {result.Damaged} damaged pages in all)");
                return ExitCodes.BadInput;
            }
            if (result.Lost > 0 || dump.IsIncomplete)
            {
                parse.InvocationConfiguration.Error.WriteLine($"kdx: {dump.Paths[0]}: the dump is incomplete ({result.Lost} pages lost: the writer was cut short)");
                return IncompleteExit;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static void Write(IDumpFile dump, PageScanResult r, double seconds, int threads, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var p in dump.Paths)
            o.WriteLine($"file:        {p}");
        o.WriteLine($"format:      {dump.FormatDescription}, {dump.Compression}{(dump.DumpLevel is { } l ? $", dump level {l}" : "")}");
        o.WriteLine($"pages:       {r.Pages} read whole ({MiB(r.PageBytes)} MiB from {MiB(r.StoredBytes)} MiB stored), zero {r.ZeroPages}, excluded {r.Excluded}, hole {r.Holes}, lost {r.Lost}");
        var rate = seconds > 0 ? r.PageBytes / seconds / 1e6 : 0;
        o.WriteLine(string.Create(inv, $"time:        {seconds:0.000} s on {threads} threads, {rate:0.0} MB/s of page data"));
        o.WriteLine($"damaged:     {r.Damaged}");
        foreach (var d in r.DamagedPages)
            o.WriteLine($"  pfn 0x{d.Pfn:x}: {d.File}: offset 0x{d.Offset:x}: {d.Problem}");
        if (r.Damaged > (ulong)r.DamagedPages.Count)
            o.WriteLine($"  ... {r.Damaged - (ulong)r.DamagedPages.Count} more");
        o.WriteLine("result:      " + (r.Damaged > 0 ? "DAMAGED: the pages listed cannot be read"
            : r.Lost > 0 || dump.IsIncomplete ? "INCOMPLETE: every stored page reads back, but the writer was cut short"
            : "OK: every stored page reads back as a whole page"));
    }

    private static string MiB(ulong bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);
}
