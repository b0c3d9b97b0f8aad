// struct pt_regs as the dumped kernel lays it out (member offsets from BTF), and a register set
// read from it: the full frame an exception or interrupt entry saves, or just its iret part.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

/// <summary>x86_64 registers in pt_regs order, named as crash prints them.</summary>
public sealed class RegisterSet
{
    /// <summary>pt_regs member names (BTF) in pt_regs order.</summary>
    public static readonly string[] PtRegsMembers =
        ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"];

    public const int R15 = 0, R14 = 1, R13 = 2, R12 = 3, Bp = 4, Bx = 5, R11 = 6, R10 = 7, R9 = 8, R8 = 9, Ax = 10, Cx = 11,
        Dx = 12, Si = 13, Di = 14, OrigAx = 15, Ip = 16, Cs = 17, Flags = 18, Sp = 19, Ss = 20;

    /// <summary>Index of the first register of the iret frame (ip): a partial set holds ip..ss only.</summary>
    public const int IretFirst = Ip;

    public RegisterSet(ulong[] values, bool full, ulong address = 0)
    {
        if (values.Length != PtRegsMembers.Length)
            throw new ArgumentException($"{PtRegsMembers.Length} registers expected", nameof(values));
        Values = values;
        Full = full;
        Address = address;
    }

    public ulong[] Values { get; }

    /// <summary>False for an iret frame only (REGS_PARTIAL): just ip, cs, flags, sp, ss are meaningful.</summary>
    public bool Full { get; }

    /// <summary>Where the pt_regs lies in memory (0 for registers from a note).</summary>
    public ulong Address { get; }

    public ulong this[int index] => Values[index];
    public ulong InstructionPointer => Values[Ip];
    public ulong StackPointer => Values[Sp];

    /// <summary>The CPL in cs is 3: the frame returns to user space.</summary>
    public bool UserMode => (Values[Cs] & 3) == 3;
}

public sealed class PtRegsLayout
{
    private readonly ulong[] _offsets;

    private PtRegsLayout(ulong[] offsets, ulong size)
    {
        _offsets = offsets;
        Size = size;
    }

    public ulong Size { get; }

    /// <summary>offsetof(struct pt_regs, ip): an iret frame starts there (REGS_PARTIAL CFAs point at it).</summary>
    public ulong IretOffset => _offsets[RegisterSet.Ip];

    public static PtRegsLayout From(BtfTypes btf)
    {
        var offsets = new ulong[RegisterSet.PtRegsMembers.Length];
        for (var i = 0; i < offsets.Length; i++)
            offsets[i] = btf.OffsetOf("pt_regs", RegisterSet.PtRegsMembers[i])
                ?? throw KernelLayout.Missing($"OFFSET(pt_regs.{RegisterSet.PtRegsMembers[i]})");
        return new PtRegsLayout(offsets, btf.SizeOf("pt_regs") ?? throw KernelLayout.Missing("SIZE(pt_regs)"));
    }

    /// <summary>Reads a pt_regs at <paramref name="address"/>; a partial one reads only the iret frame.</summary>
    public RegisterSet Read(IKernelMemory memory, ulong address, bool full)
    {
        var values = new ulong[_offsets.Length];
        for (var i = full ? 0 : RegisterSet.IretFirst; i < values.Length; i++)
        {
            values[i] = memory.ReadU64(address + _offsets[i]);
            if (i is RegisterSet.Cs or RegisterSet.Ss)
                values[i] &= 0xffff; // FRED kernels keep other data in the upper bits
        }
        return new RegisterSet(values, full, address);
    }
}
