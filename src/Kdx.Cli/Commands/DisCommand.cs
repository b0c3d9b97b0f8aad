// `kdx dis DUMP ADDR|SYMBOL[+off] [-c N]`: disassembles kernel text straight from the dump with
// Iced (Kdx.Kernel.Code.KernelDisassembler), in crash's AT&T shape (`0xaddr <sym+off>:\tinsn`),
// branch and memory targets named from kallsyms. A bare symbol without a count disassembles the whole function.
using System.CommandLine;
using System.Globalization;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Code;
using Kdx.Kernel.Debuginfo;
using Kdx.Kernel.Symbols;

namespace Kdx.Cli.Commands;

public sealed class DisCommand : KdxCommand
{
    /// <summary>Largest function disassembled whole; longer ones need -c.</summary>
    public const ulong MaxFunctionBytes = 1 << 16;

    public const int MaxCount = 1 << 16;

    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var where = new Argument<string>("WHERE") { Description = "A kernel address (hex) or SYMBOL[+offset] (offset decimal or 0x hex)." };
        var count = new Option<int?>("--count", "-c") { Description = "Number of instructions (default: the whole function for a bare symbol, else 1)." };
        var command = new Command("dis", "Disassemble kernel code from the dump, branch targets named from kallsyms.") { dumpArg, where, count };
        var source = new SourceLineOptions();
        source.AddTo(command, withSource: false);
        command.SetAction(parse =>
        {
            var n = parse.GetValue(count);
            if (n is < 1 or > MaxCount)
                throw new UsageException($"dis: count must be between 1 and {MaxCount}");
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            var kernel = new DumpedKernel(KernelMemory.Open(dump), dump.VmcoreInfo!);
            var (address, bare) = Parse(kernel.Symbols, parse.GetRequiredValue(where));
            ulong? end = null;
            if (n is null && bare && kernel.Symbols.Resolve(address) is { } s)
                end = address + Math.Min(s.Size, MaxFunctionBytes);
            var o = parse.InvocationConfiguration.Output;
            using var lines = source.Open(parse, kernel, o);
            Disassemble(kernel, address, n ?? (end is null ? 1 : MaxCount), end, o, lines);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>ADDR, SYMBOL or SYMBOL+OFF; <c>Bare</c> is true for a symbol without offset.</summary>
    public static (ulong Address, bool Bare) Parse(SymbolTable symbols, string text, string command = "dis")
    {
        var plus = text.IndexOf('+');
        var name = plus < 0 ? text : text[..plus];
        if (symbols.Lookup(name) is { } sym)
        {
            if (plus < 0)
                return (sym.Address, true);
            var off = text[(plus + 1)..];
            var ok = off.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(off.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)
                : ulong.TryParse(off, NumberStyles.None, CultureInfo.InvariantCulture, out v);
            if (!ok)
                throw new UsageException($"{command}: bad offset in '{text}'");
            return (sym.Address + v, false);
        }
        if (plus >= 0)
            throw new UsageException($"{command}: no symbol '{name}'");
        try
        {
            return (RdCommand.ParseAddress(text), false);
        }
        catch (UsageException)
        {
            throw new UsageException($"{command}: '{text}' is neither a symbol nor a hex address");
        }
    }

    /// <param name="lines">With -l: a "FILE: LINE" line (crash's dis -l shape) before each instruction whose source position differs from the previous one's.</param>
    public static void Disassemble(DumpedKernel kernel, ulong address, int count, ulong? end, TextWriter o, FrameLines? lines = null)
    {
        SourceLine? lastLine = null;
        foreach (var insn in KernelDisassembler.Decode(kernel.Memory, kernel.Symbols, address, count, end))
        {
            if (insn.Failure is null && lines?.ForAddress(insn.Address, null, null) is { } line
                && (lastLine is null || line.File != lastLine.File || line.Line != lastLine.Line))
            {
                o.WriteLine(FrameLines.Format(line));
                lastLine = line;
            }
            o.WriteLine(insn.ToString());
        }
    }
}
