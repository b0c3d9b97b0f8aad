// Kernel text disassembled straight from the dump with Iced, in crash's AT&T shape, branch and
// memory targets named from kallsyms. Shared by `kdx dis` and the triage report's faulting-
// instruction listing.
using System.Globalization;
using Iced.Intel;
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Code;

/// <summary>
/// One decoded instruction: its address, "sym+off" when kallsyms names it, its AT&amp;T text
/// ("(bad)" for bytes that do not decode), or <see cref="Failure"/> when its bytes are not in the dump.
/// </summary>
public sealed record DisassembledInstruction(ulong Address, string? Location, string Text, int Length, string? Failure = null)
{
    /// <summary>crash's line: <c>0xaddr &lt;sym+off&gt;:\tinsn</c>.</summary>
    public override string ToString() => Failure is { } f
        ? string.Create(CultureInfo.InvariantCulture, $"0x{Address:x16}: ({f})")
        : string.Create(CultureInfo.InvariantCulture, $"0x{Address:x16}{(Location is { } l ? $" <{l}>" : "")}:\t{Text}");
}

public static class KernelDisassembler
{
    /// <summary>
    /// Up to <paramref name="count"/> instructions from <paramref name="address"/>, stopping before
    /// <paramref name="end"/> when given and after the first instruction whose bytes are missing.
    /// </summary>
    public static IEnumerable<DisassembledInstruction> Decode(IKernelMemory memory, SymbolTable symbols, ulong address, int count, ulong? end = null)
    {
        var reader = new DumpCodeReader(memory, address);
        var decoder = Decoder.Create(64, reader, address);
        var formatter = new GasFormatter(new KallsymsResolver(symbols));
        formatter.Options.FirstOperandCharIndex = 7;
        var text = new StringOutput();
        for (var i = 0; i < count && (end is null || decoder.IP < end); i++)
        {
            var ip = decoder.IP;
            decoder.Decode(out var insn);
            if (reader.Failure is { } failure)
            {
                yield return new DisassembledInstruction(ip, null, "", 0, failure);
                yield break;
            }
            formatter.Format(insn, text);
            var where = symbols.Resolve(ip) is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s.Symbol.Name}+{s.Offset}") : null;
            yield return new DisassembledInstruction(ip, where, insn.IsInvalid ? "(bad)" : text.ToStringAndReset(), insn.Length);
            text.Reset();
        }
    }

    /// <summary>
    /// The instructions around <paramref name="ip"/>: decoding starts at <paramref name="functionStart"/>
    /// (x86 cannot be decoded backwards), keeps the last <paramref name="before"/> instructions ahead of
    /// ip, ip's own and <paramref name="after"/> more. Null when ip is not on an instruction boundary
    /// of that decode (then the function start was wrong).
    /// </summary>
    public static IReadOnlyList<DisassembledInstruction>? Around(IKernelMemory memory, SymbolTable symbols, ulong functionStart, ulong ip, int before, int after)
    {
        const ulong MaxLead = 1 << 16;
        if (ip < functionStart || ip - functionStart > MaxLead)
            return null;
        var window = new Queue<DisassembledInstruction>(before + 1);
        var result = new List<DisassembledInstruction>(before + after + 1);
        var found = false;
        foreach (var insn in Decode(memory, symbols, functionStart, int.MaxValue))
        {
            if (!found)
            {
                if (insn.Address > ip || insn.Failure is not null && insn.Address < ip)
                    return null;
                if (insn.Address < ip)
                {
                    if (window.Count == before)
                        window.Dequeue();
                    window.Enqueue(insn);
                    continue;
                }
                found = true;
                result.AddRange(window);
                result.Add(insn);
                if (after == 0 || insn.Failure is not null)
                    break;
                continue;
            }
            result.Add(insn);
            if (result.Count >= window.Count + 1 + after || insn.Failure is not null)
                break;
        }
        return found ? result : null;
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
