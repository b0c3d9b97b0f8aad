// `kdx sym DUMP NAME|ADDR...`: kernel symbols from the dump's own kallsyms — an address becomes
// name+0xoff/0xsize, a name becomes its address and type, as crash's sym prints them.
using System.CommandLine;
using System.Globalization;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;

namespace Kdx.Cli.Commands;

public sealed class SymCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var queries = new Argument<string[]>("SYMBOL") { Description = "Symbol names, or kernel addresses in hex (0x...).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("sym", "Translate kernel symbols and addresses using the dump's kallsyms.") { dumpArg, queries };
        command.SetAction(parse =>
        {
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            var info = dump.VmcoreInfo
                ?? throw new DumpFormatException(dump.Paths[0], 0, "the dump has no VMCOREINFO note, so kallsyms cannot be located");
            var symbols = new DumpedKernel(KernelMemory.Open(dump), info).Symbols;
            var o = parse.InvocationConfiguration.Output;
            var failed = false;
            foreach (var q in parse.GetRequiredValue(queries))
            {
                if (q.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    && ulong.TryParse(q.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var address))
                {
                    if (symbols.Resolve(address) is { } loc)
                        o.WriteLine($"{address:x16} ({loc.Symbol.Type}) {loc}");
                    else
                    {
                        o.WriteLine($"{address:x16}: no symbol");
                        failed = true;
                    }
                    continue;
                }
                var all = symbols.LookupAll(q);
                if (all.Count == 0)
                {
                    o.WriteLine($"{q}: no such symbol");
                    failed = true;
                }
                foreach (var s in all)
                    o.WriteLine($"{s.Address:x16} ({s.Type}) {s.Name}");
            }
            return failed ? ExitCodes.Usage : ExitCodes.Ok;
        });
        return command;
    }
}
