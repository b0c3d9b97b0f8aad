// `kdx nmi discover`: lists the NMI event codes found in a kernel log (file, journal, live dmesg,
// or the log inside a vmcore).
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Kdx.Kernel.Log;
using Kdx.Kernel.Nmi;
using Kdx.Setup.Nmi;

namespace Kdx.Cli.Commands;

public sealed class NmiDiscoverCommand : KdxCommand
{
    public override Command Build()
    {
        var dmesg = new Option<string>("--dmesg") { Description = "Read this kernel log file (dmesg, kmsg or journal text; - for stdin)." };
        var journal = new Option<bool>("--journal") { Description = "Read kernel messages of all boots from the systemd journal." };
        var dump = new Argument<string[]>("DUMP") { Description = "Read the kernel log inside this dump (several files for a split set).", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("discover", "Find NMI event codes in the kernel log (live, a file, the journal, or a dump's): nmimgr's lines and the kernel's \"Uhhuh\", SERR and IOCK lines.")
        {
            dmesg,
            journal,
            dump,
        };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(dmesg);
            var useJournal = r.GetValue(journal);
            var dumpFiles = r.GetValue(dump) ?? [];
            if ((file is not null ? 1 : 0) + (useJournal ? 1 : 0) + (dumpFiles.Length > 0 ? 1 : 0) > 1)
                throw new UsageException("use one of --dmesg FILE, --journal or DUMP");
            var lines = file switch
            {
                null when dumpFiles.Length > 0 => DumpLog(dumpFiles),
                null when useJournal => RunTool("journalctl", "_TRANSPORT=kernel -o short-iso --no-pager"),
                null => RunTool("dmesg", ""),
                "-" => ReadAll(Console.In),
                _ => (IReadOnlyList<string>)File.ReadAllLines(file),
            };
            Print(NmiLogSummary.Scan(lines), lines.Count, r.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    internal static void Print(IReadOnlyList<NmiCodeSummary> codes, int lineCount, TextWriter o)
    {
        if (codes.Count == 0)
        {
            o.WriteLine($"no NMI events found in {lineCount} lines");
            return;
        }
        var rows = codes.Select(c => new[]
        {
            c.Code.ToString(CultureInfo.InvariantCulture), $"0x{c.Code:x2}", c.Count.ToString(CultureInfo.InvariantCulture),
            c.FirstSeen, c.LastSeen, NmiSourceNames.Describe(c.Sources), NmiSourceNames.Describe(c.LastAction),
            c.KernelVariants.IsEmpty ? "-" : string.Join(',', c.KernelVariants.Codes().Select(k => $"0x{k:x2}")),
        }).ToList();
        TextTable.Write(o, ["code", "hex", "count", "first seen", "last seen", "source", "nmimgr", "kernel printed"], rows, rightAligned: [0, 2]);
        var all = NmiCodeSet.Empty;
        foreach (var c in codes)
            all = all.With(c.Code);
        o.WriteLine();
        o.WriteLine($"{codes.Count} code(s), {codes.Sum(c => c.Count)} event(s); as a list: {all}");
        var withToggle = NmiCodeSet.Empty;
        foreach (var c in all.Codes())
            withToggle = withToggle.With(c).With(c ^ 0x10);
        if (withToggle != all)
            o.WriteLine($"bit 0x10 of the code (refresh toggle) flips by itself; to match every event list both variants: {withToggle}");
    }

    /// <summary>The dump's kernel log as crash's `log` prints it ("[ seconds] text" lines).</summary>
    private static IReadOnlyList<string> DumpLog(string[] paths)
    {
        var (file, kernel) = KernelDump.Open(paths, "the kernel log");
        using (file)
            return LogFormatter.Format(kernel.Log.Records).Split('\n');
    }

    private static IReadOnlyList<string> ReadAll(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            lines.Add(line);
        return lines;
    }

    private static IReadOnlyList<string> RunTool(string tool, string arguments)
    {
        var psi = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new UsageException($"cannot run {tool}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new UsageException($"cannot run {tool}: {e.Message}; give the log with --dmesg FILE");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var lines = ReadAll(p.StandardOutput);
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new UsageException($"{tool} failed ({p.ExitCode}): {stderr.Result.Trim()}; give the log with --dmesg FILE");
            return lines;
        }
    }
}
