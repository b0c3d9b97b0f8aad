// What an unwind produces: frames in crash's shape (stack slot, ip, symbol), the pt_regs met at
// interrupt/exception/syscall entries, the stacks crossed, and why the walk ended.
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tasks;

namespace Kdx.Kernel.Unwind;

/// <summary>How the frames were found.</summary>
public enum UnwindMethod
{
    Orc,
    FramePointer,
}

/// <summary>
/// One frame. <see cref="Slot"/> is the stack address crash prints in brackets: where the return
/// address was read for a call frame, the stack pointer for the first frame and for frames entered
/// from pt_regs. <see cref="Regs"/> is a pt_regs found on the stack above this frame (an entry
/// frame); <see cref="StackLeft"/> names the stack the walk left after this frame.
/// </summary>
public sealed record BacktraceFrame(int Index, ulong Slot, ulong Ip, ulong Sp, SymbolLocation? Symbol, string Stack)
{
    public RegisterSet? Regs { get; internal set; }
    public string? StackLeft { get; internal set; }

    /// <summary>This step had no ORC entry and followed the frame pointer instead.</summary>
    public bool FramePointerGuess { get; internal init; }

    /// <summary>The module the ip lies in, or null for vmlinux.</summary>
    public string? Module { get; internal init; }

    /// <summary>ORC had nothing for this ip; its CFA came from following the function's code.</summary>
    public bool CfaFromCode { get; internal set; }

    public string Name => Symbol?.Symbol.Name ?? $"0x{Ip:x}";
}

public sealed record Backtrace(
    KernelTask Task,
    int? Cpu,
    bool Active,
    UnwindMethod Method,
    string MethodDetail,
    IReadOnlyList<BacktraceFrame> Frames,
    bool ReachedEnd,
    string StopReason)
{
    /// <summary>The user-mode registers the kernel entry saved, when the walk ended at the user boundary.</summary>
    public RegisterSet? UserRegs => Frames.Count > 0 && Frames[^1].Regs is { UserMode: true } r ? r : null;
}
