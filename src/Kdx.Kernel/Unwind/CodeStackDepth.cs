// For code the ORC tables leave undefined (objtool skipped it, e.g. __crash_kexec with the
// pushf/popq of crash_setup_regs): the stack depth at an instruction, found by following the
// function's control flow from its first byte and adding up what each instruction does to rsp
// (push/pop, sub/add rsp with an immediate). Every path must agree, and any other write to rsp
// gives up; the result is the CFA the unwinder would otherwise have read from ORC.
using Iced.Intel;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

public static class CodeStackDepth
{
    /// <summary>Longest function analysed.</summary>
    public const ulong MaxFunctionBytes = 1 << 14;

    /// <summary>What the analysis found at the target: bytes pushed since entry, and where rbp was pushed (relative to the CFA), if it was.</summary>
    public readonly record struct Depth(ulong Bytes, long? SavedBpFromCfa);

    /// <summary>
    /// The stack depth at <paramref name="ip"/> inside the function starting at <paramref name="start"/>
    /// of <paramref name="size"/> bytes, or null (with the reason) when the code does something the analysis does not model.
    /// </summary>
    public static Depth? At(IKernelMemory memory, ulong start, ulong size, ulong ip, out string problem)
    {
        if (size == 0 || size > MaxFunctionBytes || ip < start || ip >= start + size)
        {
            problem = $"function of 0x{size:x} bytes is not analysed";
            return null;
        }
        var code = new byte[size];
        memory.Read(start, code);
        var reader = new ByteArrayCodeReader(code);
        var decoder = Decoder.Create(64, reader, start);
        var depth = new Dictionary<ulong, (long Depth, long? Bp)>();
        var work = new Stack<(ulong At, long Depth, long? Bp)>();
        work.Push((start, 0, null));
        var steps = 0;
        string? unmodelled = null;
        while (work.Count > 0)
        {
            var (at, d, bp) = work.Pop();
            while (true)
            {
                if (at < start || at >= start + size)
                    break; // tail call or jump out of the function: that path ends here
                if (depth.TryGetValue(at, out var seen))
                {
                    if (seen.Depth != d)
                    {
                        problem = $"paths reach 0x{at:x} with different stack depths ({seen.Depth}, {d})";
                        return null;
                    }
                    break;
                }
                if (++steps > (int)size)
                {
                    problem = "analysis did not converge";
                    return null;
                }
                depth[at] = (d, bp);
                decoder.IP = at;
                reader.Position = (int)(at - start);
                decoder.Decode(out var insn);
                if (insn.IsInvalid)
                    break;
                if (insn.Mnemonic == Mnemonic.Push && insn.Op0Kind == OpKind.Register && insn.Op0Register == Register.RBP && bp is null)
                    bp = -(8 + d + 8);
                if (!Effect(insn, ref d, out var why))
                {
                    unmodelled ??= why; // this path's depth is unknown from here on
                    break;
                }
                switch (insn.FlowControl)
                {
                    case FlowControl.Return or FlowControl.Interrupt or FlowControl.Exception or FlowControl.IndirectBranch:
                        goto pathEnd;
                    case FlowControl.UnconditionalBranch:
                        at = insn.NearBranchTarget;
                        continue;
                    case FlowControl.ConditionalBranch:
                        work.Push((insn.NearBranchTarget, d, bp));
                        break;
                }
                at = insn.NextIP;
            }
        pathEnd:;
        }
        if (depth.TryGetValue(ip, out var result))
        {
            problem = "";
            return new Depth((ulong)result.Depth, result.Bp);
        }
        problem = unmodelled ?? $"0x{ip:x} is not reached from the function's entry";
        return null;
    }

    private sealed class ByteArrayCodeReader(byte[] code) : CodeReader
    {
        public int Position { get; set; }
        public override int ReadByte() => Position < code.Length ? code[Position++] : -1;
    }

    /// <summary>Applies an instruction's effect on rsp; false when it changes rsp in a way not modelled.</summary>
    private static bool Effect(in Instruction insn, ref long depth, out string problem)
    {
        problem = "";
        if (insn.FlowControl is FlowControl.Call or FlowControl.IndirectCall)
            return true; // the callee returns with rsp where it was
        if (insn.Mnemonic is Mnemonic.Push or Mnemonic.Pushfq or Mnemonic.Pop or Mnemonic.Popfq)
        {
            depth -= insn.StackPointerIncrement;
            return true;
        }
        if (insn.Mnemonic is Mnemonic.Leave or Mnemonic.Enter)
        {
            problem = $"{insn.Mnemonic} at 0x{insn.IP:x}";
            return false;
        }
        if (insn.Op0Kind == OpKind.Register && insn.Op0Register == Register.RSP)
        {
            if (insn.Mnemonic is Mnemonic.Sub or Mnemonic.Add && insn.Op1Kind is OpKind.Immediate8to64 or OpKind.Immediate32to64 or OpKind.Immediate8 or OpKind.Immediate32)
            {
                var imm = (long)insn.GetImmediate(1);
                depth += insn.Mnemonic == Mnemonic.Sub ? imm : -imm;
                return true;
            }
            if (insn.Mnemonic is Mnemonic.Cmp or Mnemonic.Test)
                return true;
            problem = $"{insn.Mnemonic} writes rsp at 0x{insn.IP:x}";
            return false;
        }
        return true;
    }
}
