// What every dump-reading command shares: the DUMP argument (several files for a split set), the
// --json option, and opening the dump as a DumpedKernel (VMCOREINFO required, no debuginfo).
using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;

namespace Kdx.Cli.Commands;

internal static class KernelDump
{
    public static Argument<string[]> DumpArgument() =>
        new("DUMP") { Description = "The dump file (several for a split set).", Arity = ArgumentArity.OneOrMore };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print the result as JSON." };

    public static (IDumpFile Dump, DumpedKernel Kernel) Open(string[] paths, string what)
    {
        var dump = DumpFile.Open(paths);
        var info = dump.VmcoreInfo;
        if (info is null)
        {
            dump.Dispose();
            throw new DumpFormatException(dump.Paths[0], 0, $"the dump has no VMCOREINFO note, so {what} cannot be read without debuginfo");
        }
        return (dump, new DumpedKernel(KernelMemory.Open(dump), info));
    }

    /// <summary>
    /// Says on stderr, one crash-like line each ("ps: cannot read ..."), what the dump lacked, and
    /// returns the exit code: Ok, or Incomplete when anything is missing.
    /// </summary>
    public static int ReportGaps(TextWriter stderr, string command, IEnumerable<ReadGap> gaps)
    {
        var seen = new HashSet<string>();
        foreach (var g in gaps)
            if (seen.Add(g.ToString()))
                stderr.WriteLine($"{command}: {g}");
        return seen.Count == 0 ? ExitCodes.Ok : ExitCodes.Incomplete;
    }

    /// <summary>Writes one JSON document (indented, UTF-8) built by <paramref name="write"/> to the output.</summary>
    public static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(j);
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
