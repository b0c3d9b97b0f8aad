// `kdx dis DUMP ADDR|SYMBOL[+off] [-c N]`: disassembles kernel text straight from the dump with
// Iced, in crash's AT&T shape (`0xaddr <sym+off>:\tinsn`), branch and memory targets named from
// kallsyms. A bare symbol without a count disassembles the whole function.
using System.CommandLine;
using System.Globalization;
using Iced.Intel;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;
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
            Disassemble(kernel, address, n ?? (end is null ? 1 : MaxCount), end, parse.InvocationConfiguration.Output);
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

    public static void Disassemble(DumpedKernel kernel, ulong address, int count, ulong? end, TextWriter o)
    {
        var reader = new DumpCodeReader(kernel.Memory, address);
        var decoder = Decoder.Create(64, reader, address);
        var formatter = new GasFormatter(new KallsymsResolver(kernel.Symbols));
        formatter.Options.FirstOperandCharIndex = 7;
        var text = new StringOutput();
        for (var i = 0; i < count && (end is null || decoder.IP < end); i++)
        {
            var ip = decoder.IP;
            decoder.Decode(out var insn);
            if (reader.Failure is { } failure)
            {
                o.WriteLine($"0x{ip:x16}: ({failure})");
                return;
            }
            formatter.Format(insn, text);
            var where = kernel.Symbols.Resolve(ip) is { } s
                ? string.Create(CultureInfo.InvariantCulture, $" <{s.Symbol.Name}+{s.Offset}>")
                : "";
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"0x{ip:x16}{where}:\t{(insn.IsInvalid ? "(bad)" : text.ToStringAndReset())}"));
            text.Reset();
        }
    }

    /// <summary>Feeds Iced one page at a time from the dump; stops at the first unreadable byte and says why.</summary>
    private sealed class DumpCodeReader(IKernelMemory memory, ulong start) : CodeReader
    {
        private readonly byte[] _page = new byte[4096];
        private ulong _pageBase = ulong.MaxValue;
        private ulong _next = start;

        public string? Failure { get; private set; }

        public override int ReadByte()
        {
            if (Failure is not null)
                return -1;
            var pageBase = _next & ~4095UL;
            if (pageBase != _pageBase)
            {
                try
                {
                    memory.Read(pageBase, _page);
                    _pageBase = pageBase;
                }
                catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException)
                {
                    Failure = e.Message;
                    return -1;
                }
            }
            return _page[(int)(_next++ - pageBase)];
        }
    }

    /// <summary>Names branch targets and absolute addresses the way crash does: <c>addr &lt;sym+off&gt;</c>.</summary>
    private sealed class KallsymsResolver(SymbolTable symbols) : ISymbolResolver
    {
        public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize, out SymbolResult symbol)
        {
            // Branch targets always; other addresses (immediates, displacements) only near a symbol's
            // start, so a constant that happens to point into a big table is not dressed up as code.
            var branch = instruction.FlowControl is not FlowControl.Next;
            if (address >= 0xffff800000000000 && symbols.Resolve(address) is { } s && s.Size < (1UL << 24) && (branch || s.Offset < 0x1000))
            {
                var name = s.Offset == 0 ? s.Symbol.Name : string.Create(CultureInfo.InvariantCulture, $"{s.Symbol.Name}+{s.Offset}");
                symbol = new SymbolResult(address, $"0x{address:x} <{name}>");
                return true;
            }
            symbol = default;
            return false;
        }
    }
}
