// `kdx sym DUMP NAME|ADDR...`: kernel symbols from the dump's own kallsyms — an address becomes
// name+0xoff/0xsize, a name becomes its address and type, as crash's sym prints them. With -l and
// a DWARF vmlinux (--vmlinux) an address or SYMBOL+OFF also gets its source file:line, and with
// --source DIR the source lines around it (gdb's `list *bio_endio+0x12a`).
using System.CommandLine;
using System.Globalization;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Unwind;

namespace Kdx.Cli.Commands;

public sealed class SymCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var queries = new Argument<string[]>("SYMBOL") { Description = "Symbol names, SYMBOL+OFFSET, or kernel addresses in hex (0x...).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("sym", "Translate kernel symbols and addresses using the dump's kallsyms.") { dumpArg, queries };
        var source = new SourceLineOptions();
        source.AddTo(command, withSource: true);
        command.SetAction(parse =>
        {
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            var info = dump.VmcoreInfo
                ?? throw new DumpFormatException(dump.Paths[0], 0, "the dump has no VMCOREINFO note, so kallsyms cannot be located");
            var kernel = new DumpedKernel(KernelMemory.Open(dump), info);
            var symbols = kernel.Symbols;
            var o = parse.InvocationConfiguration.Output;
            using var lines = source.Open(parse, kernel, o);
            Backtracer? modules = null; // names module addresses for -l (module kallsyms)
            var failed = false;
            foreach (var q in parse.GetRequiredValue(queries))
            {
                ulong address;
                if (q.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    && ulong.TryParse(q.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var a))
                    address = a;
                else if (q.Contains('+', StringComparison.Ordinal))
                    address = DisCommand.Parse(symbols, q).Address;
                else
                {
                    var all = symbols.LookupAll(q);
                    if (all.Count == 0)
                    {
                        o.WriteLine($"{q}: no such symbol");
                        failed = true;
                    }
                    foreach (var s in all)
                        o.WriteLine($"{s.Address:x16} ({s.Type}) {s.Name}");
                    if (lines is not null && all.Count > 0)
                        WriteLine(lines, all[0].Address, null, new(all[0], 0, 0), o);
                    continue;
                }
                var loc = symbols.Resolve(address);
                string? module = null;
                if (loc is null && lines is not null)
                {
                    modules ??= new Backtracer(kernel, dump.Cpus);
                    (loc, module) = modules.Resolve(address);
                }
                if (loc is { } l)
                    o.WriteLine(module is null ? $"{address:x16} ({l.Symbol.Type}) {l}" : $"{address:x16} ({l.Symbol.Type}) {l} [{module}]");
                else
                {
                    o.WriteLine($"{address:x16}: no symbol");
                    failed = true;
                }
                if (lines is not null)
                    WriteLine(lines, address, module, loc, o);
            }
            return failed ? ExitCodes.Usage : ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteLine(FrameLines lines, ulong address, string? module, Kdx.Kernel.Symbols.SymbolLocation? symbol, TextWriter o)
    {
        if (lines.ForAddress(address, module, symbol) is not { } line)
        {
            o.WriteLine("  (no line information)");
            return;
        }
        o.WriteLine("  " + FrameLines.Format(line));
        foreach (var text in lines.Context(line))
            o.WriteLine(text);
    }
}
