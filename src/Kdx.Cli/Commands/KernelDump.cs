// What every dump-reading command shares: the DUMP argument (several files for a split set), the
// --json option, and opening the dump as a DumpedKernel (VMCOREINFO required, no debuginfo).
using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Images;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

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

    public static Option<string?> VmlinuxOption() => new("--vmlinux")
    {
        Description = "A vmlinux (its .symtab and .BTF, e.g. the -dbg package's) or a System.map, for symbols and types the dump cannot give. Never required.",
    };

    /// <summary>
    /// Opens the dump for a command that needs the kernel's symbols and types. They come from the
    /// dump (kallsyms, BTF) unless <paramref name="vmlinux"/> gives them; when the dump cannot give
    /// them the error says so and that --vmlinux would.
    /// </summary>
    public static (IDumpFile Dump, DumpedKernel Kernel) OpenWithTypes(string[] paths, string what, string? vmlinux)
    {
        var dump = DumpFile.Open(paths);
        try
        {
            var info = dump.VmcoreInfo
                ?? throw new DumpFormatException(dump.Paths[0], 0, $"the dump has no VMCOREINFO note, so {what} cannot be read without debuginfo");
            var (symbols, btf) = vmlinux is null ? (null, null) : FromVmlinux(vmlinux, info.KernelOffset);
            var kernel = new DumpedKernel(KernelMemory.Open(dump), info, symbols, btf);
            try
            {
                _ = kernel.Symbols;
            }
            catch (Exception e) when (vmlinux is null && e is DumpFormatException or PageNotInDumpException or UnmappedAddressException)
            {
                throw new DumpFormatException(dump.Paths[0], 0,
                    $"cannot read the kernel's symbols (kallsyms) for {what}: {e.Message}; --vmlinux FILE (the -dbg vmlinux or its System.map) can give them");
            }
            if (kernel.Btf is null)
                throw new DumpFormatException(dump.Paths[0], 0,
                    $"no kernel types for {what}: {kernel.BtfProblem}; --vmlinux FILE (a vmlinux with a .BTF section) can give them");
            return (dump, kernel);
        }
        catch
        {
            dump.Dispose();
            throw;
        }
    }

    /// <summary>Symbols (and types, from an ELF's .BTF) of a vmlinux or a System.map, moved by KERNELOFFSET.</summary>
    private static (SymbolTable Symbols, BtfTypes? Btf) FromVmlinux(string path, ulong kernelOffset)
    {
        Span<byte> magic = stackalloc byte[4];
        using (var f = File.OpenRead(path))
            if (f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !magic.SequenceEqual("\u007fELF"u8))
                return (SystemMap.Load(path, kernelOffset), null);
        using var image = ElfImage.Open(path);
        return (ElfSymbols.Load(image, kernelOffset), image.FindSection(".BTF") is null ? null : BtfTypes.FromElf(image));
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
