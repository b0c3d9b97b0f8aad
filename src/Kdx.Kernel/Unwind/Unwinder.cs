// The ORC unwinder over a dumped stack (the kernel's own algorithm, restated): per frame, find the
// ORC entry of the ip (ip-1 for return addresses), compute the CFA from sp_reg/sp_offset, then
// either pop a return address (CALL) or read a pt_regs (REGS, REGS_PARTIAL) and carry on in the
// interrupted context; bp follows bp_reg. Every step is checked: stack pointers must stay inside
// known stacks and rise on the same stack, depth is bounded, unreadable pages stop the walk with
// the reason. Without ORC tables it follows the frame-pointer chain instead.
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

/// <summary>
/// Where an unwind starts: registers (exact ip) or a saved return address (ip-1 lookups);
/// <paramref name="ReturnSlot"/> is where that return address was read (the first frame's slot,
/// as crash prints it), when not at the stack pointer.
/// </summary>
public readonly record struct UnwindStart(RegisterSet Regs, bool ExactIp, ulong? ReturnSlot = null);

public sealed class Unwinder(DumpedKernel kernel, OrcUnwindInfo? orc, PtRegsLayout ptRegs)
{
    /// <summary>Most frames printed for one stack (the kernel allows ~ THREAD_SIZE/16 frames; real traces are < 60).</summary>
    public const int MaxFrames = 256;

    private readonly IKernelMemory _m = kernel.Memory;

    public UnwindMethod Method => orc is null ? UnwindMethod.FramePointer : UnwindMethod.Orc;

    public (List<BacktraceFrame> Frames, bool ReachedEnd, string Reason) Walk(UnwindStart start, IReadOnlyList<KernelStack> stacks)
    {
        var frames = new List<BacktraceFrame>();
        var regs = start.Regs;
        ulong ip = regs.InstructionPointer, sp = regs.StackPointer, bp = regs[RegisterSet.Bp];
        var exact = start.ExactIp;
        var haveFullRegs = regs.Full;
        var slot = start.ReturnSlot ?? sp;
        var fpGuess = false;
        var left = new HashSet<string>(StringComparer.Ordinal);
        KernelStack? current = null;
        try
        {
            if (regs.UserMode)
            {
                var f = new BacktraceFrame(0, sp, ip, sp, null, "user") { Regs = regs };
                frames.Add(f);
                return (frames, true, "the CPU was in user mode");
            }
            while (true)
            {
                if (frames.Count >= MaxFrames)
                    return (frames, false, $"more than {MaxFrames} frames");
                if (Find(stacks, sp) is not { } stack)
                    return (frames, false, $"stack pointer 0x{sp:x} is outside the task's and the CPU's stacks");
                if (current is { } c && c != stack)
                {
                    if (left.Contains(stack.Name))
                        return (frames, false, $"stack pointer 0x{sp:x} returns to the {stack.Name}, which the walk already left");
                    left.Add(c.Name);
                    frames[^1].StackLeft = c.Name;
                    if (!exact)
                        slot = sp; // a return across stacks: crash prints the sp on the new stack
                }
                current = stack;
                var (symbol, module) = Resolve(ip, exact);
                var frame = new BacktraceFrame(frames.Count, slot, ip, sp, symbol, stack.Name) { FramePointerGuess = fpGuess, Module = module };
                frames.Add(frame);
                fpGuess = false;
                if (ip == 0)
                    return (frames, false, "ip is 0");

                var entry = orc?.Find(exact ? ip : ip - 1);
                if (entry is null or { Type: OrcFrameType.Undefined } && FromCode(ip) is { } fromCode)
                {
                    entry = fromCode;
                    frame.CfaFromCode = true;
                }
                else if (entry is null)
                {
                    // No ORC for this ip: the kernel's own fallback is one frame-pointer step.
                    entry = new OrcEntry(16, -16, OrcReg.Bp, OrcReg.PrevSp, OrcFrameType.Call, false);
                    fpGuess = orc is not null;
                }
                switch (entry.Value.Type)
                {
                    case OrcFrameType.EndOfStack:
                        return (frames, true, "end of stack");
                    case OrcFrameType.Undefined:
                        return (frames, false, $"no unwind information at 0x{ip:x} (ORC undefined; {_lastCodeProblem})");
                }
                var e = entry.Value;

                // The CFA ("previous sp").
                ulong cfa;
                switch (e.SpReg)
                {
                    case OrcReg.Sp: cfa = sp + (ulong)(long)e.SpOffset; break;
                    case OrcReg.Bp: cfa = bp + (ulong)(long)e.SpOffset; break;
                    case OrcReg.SpIndirect: cfa = _m.ReadU64(sp) + (ulong)(long)e.SpOffset; break;
                    case OrcReg.BpIndirect: cfa = _m.ReadU64(bp + (ulong)(long)e.SpOffset); break;
                    case OrcReg.Di or OrcReg.Dx or OrcReg.R10 or OrcReg.R13:
                        if (!haveFullRegs)
                            return (frames, false, $"CFA is in {e.SpReg}, but no full pt_regs is known here");
                        cfa = regs[e.SpReg switch { OrcReg.Di => RegisterSet.Di, OrcReg.Dx => RegisterSet.Dx, OrcReg.R10 => RegisterSet.R10, _ => RegisterSet.R13 }]
                            + (ulong)(long)e.SpOffset;
                        break;
                    default:
                        return (frames, false, $"unknown ORC sp_reg {e.SpReg} at 0x{ip:x}");
                }

                ulong newIp, newSp, newSlot;
                bool newExact;
                RegisterSet? newRegs = null;
                switch (e.Type)
                {
                    case OrcFrameType.Call:
                        newSlot = cfa - 8;
                        newIp = _m.ReadU64(newSlot);
                        newSp = cfa;
                        newExact = false;
                        break;
                    case OrcFrameType.Regs:
                        newRegs = ptRegs.Read(_m, cfa, full: true);
                        goto default;
                    case OrcFrameType.RegsPartial:
                        newRegs = ptRegs.Read(_m, cfa - ptRegs.IretOffset, full: false);
                        goto default;
                    default:
                        newIp = newRegs!.InstructionPointer;
                        newSp = newRegs.StackPointer;
                        newSlot = newSp;
                        newExact = true;
                        frame.Regs = newRegs;
                        break;
                }

                // bp in the caller.
                switch (e.BpReg)
                {
                    case OrcReg.Undefined:
                        if (newRegs is { Full: true })
                            bp = newRegs[RegisterSet.Bp];
                        break;
                    case OrcReg.PrevSp:
                        bp = _m.ReadU64(cfa + (ulong)(long)e.BpOffset);
                        break;
                    case OrcReg.Bp:
                        bp = _m.ReadU64(bp + (ulong)(long)e.BpOffset);
                        break;
                    default:
                        return (frames, false, $"unknown ORC bp_reg {e.BpReg} at 0x{ip:x}");
                }

                if (newRegs is { UserMode: true })
                    return (frames, true, "user mode");
                if (Find(stacks, newSp) is { } next && next == stack && newSp <= sp)
                    return (frames, false, $"stack pointer does not rise (0x{sp:x} -> 0x{newSp:x})");
                if (newRegs is not null)
                {
                    regs = newRegs;
                    haveFullRegs = newRegs.Full;
                }
                else
                    haveFullRegs = false;
                ip = newIp;
                sp = newSp;
                slot = newSlot;
                exact = newExact;
            }
        }
        catch (PageNotInDumpException e)
        {
            return (frames, false, $"stack page not in the dump ({e.Message})");
        }
        catch (UnmappedAddressException e)
        {
            return (frames, false, $"unmapped address ({e.Message})");
        }
    }

    private string _lastCodeProblem = "";

    /// <summary>
    /// The function an ip belongs to: for a return address the call's own byte (ip-1), since a call
    /// to a noreturn function can be a function's last instruction; vmlinux first, then modules.
    /// </summary>
    public (Symbols.SymbolLocation? Symbol, string? Module) Resolve(ulong ip, bool exact)
    {
        var at = exact || ip == 0 ? ip : ip - 1;
        if (kernel.Symbols.Resolve(at) is { } s)
            return (Adjust(s, ip), null);
        if (orc?.ModuleOf(at) is not { } mod)
            return (null, null);
        return (mod.Symbols?.Resolve(at) is { Symbol.Name.Length: > 0 } ms ? Adjust(ms, ip) : null, mod.Name);
    }

    private static Symbols.SymbolLocation Adjust(Symbols.SymbolLocation s, ulong ip) => s with { Offset = ip - s.Symbol.Address };

    /// <summary>An ORC-like CALL entry derived from the function's code (see <see cref="CodeStackDepth"/>), or null.</summary>
    private OrcEntry? FromCode(ulong ip)
    {
        if (kernel.Symbols.Resolve(ip) is not { } s)
        {
            _lastCodeProblem = "no symbol";
            return null;
        }
        if (CodeStackDepth.At(_m, s.Symbol.Address, s.Size, ip, out _lastCodeProblem) is not { } d || d.Bytes > short.MaxValue - 8)
            return null;
        var cfa = (short)(d.Bytes + 8);
        return d.SavedBpFromCfa is { } bp
            ? new OrcEntry(cfa, (short)bp, OrcReg.Sp, OrcReg.PrevSp, OrcFrameType.Call, false)
            : new OrcEntry(cfa, 0, OrcReg.Sp, OrcReg.Undefined, OrcFrameType.Call, false);
    }

    private static KernelStack? Find(IReadOnlyList<KernelStack> stacks, ulong sp)
    {
        foreach (var s in stacks)
            if (s.Contains(sp))
                return s;
        return null;
    }
}
