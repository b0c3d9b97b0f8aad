// The unwinder on hand-made stacks: a clean walk to the end-of-stack entry, and corrupt stacks
// (return addresses that loop, stack pointers that fall or leave the stack, pages missing from the
// dump, ORC gaps) that must end in a bounded walk with a stated reason. Also the ORC entry
// decoding of the 6.1 and the 6.4+ bitfield layouts.
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Kdx.Kernel.Unwind;

namespace Kdx.Kernel.Tests.Unwind;

public class SyntheticUnwindTests
{
    private const ulong Text = 0xffffffff81000000;
    private const ulong A = Text, B = Text + 0x100, C = Text + 0x200, End = Text + 0x300;
    private const ulong OrcIp = 0xffffffff82000000, Orc = 0xffffffff82001000;
    private const ulong StackBase = 0xffffc90000010000, StackSize = 0x4000, StackTop = StackBase + StackSize;

    private static readonly KernelStack[] Stacks = [new(KernelStack.TaskStackName, StackBase, StackTop)];

    /// <summary>6.1 orc_entry: sp_offset, bp_offset, then sp_reg:4 bp_reg:4 type:2 end:1.</summary>
    private static byte[] Entry61(short sp, short bp, OrcReg spReg, OrcReg bpReg, int type, bool end)
    {
        var e = new byte[6];
        BinaryPrimitives.WriteInt16LittleEndian(e, sp);
        BinaryPrimitives.WriteInt16LittleEndian(e.AsSpan(2), bp);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(4), (ushort)((int)spReg | (int)bpReg << 4 | type << 8 | (end ? 1 << 10 : 0)));
        return e;
    }

    /// <summary>A kernel with functions A (leaf, CFA sp+8), B (CFA sp+16), C (bottom of the stack), fd in an ORC gap (End.._etext), and an empty task stack.</summary>
    private static (DumpedKernel Kernel, SparseMemory Memory, Unwinder Unwinder) Make(short bOffset = 16)
    {
        var m = new SparseMemory();
        (ulong Ip, byte[] Entry)[] orc =
        [
            (A, Entry61(8, 0, OrcReg.Sp, OrcReg.Undefined, 0, false)),
            (B, Entry61(bOffset, 0, OrcReg.Sp, OrcReg.Undefined, 0, false)),
            (C, Entry61(0, 0, OrcReg.Undefined, OrcReg.Undefined, 0, true)),
            (End, Entry61(0, 0, OrcReg.Undefined, OrcReg.Undefined, 0, false)),
        ];
        var ips = m.Map(OrcIp, orc.Length * 4);
        var entries = m.Map(Orc, orc.Length * 6);
        for (var i = 0; i < orc.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(ips.AsSpan(i * 4), (int)(long)(orc[i].Ip - (OrcIp + (ulong)i * 4)));
            orc[i].Entry.CopyTo(entries, i * 6);
        }
        m.Map(Text, new byte[0x400]); // int3-free zero code: "add %al,(%rax)" everywhere
        m.Map(StackBase, new byte[StackSize]);
        var symbols = new SymbolTable(
        [
            new("fa", A, 'T'), new("fb", B, 'T'), new("fc", C, 'T'), new("fd", End, 'T'), new("_etext", End + 0x100, 'T'),
            new("__start_orc_unwind_ip", OrcIp, 'R'), new("__stop_orc_unwind_ip", OrcIp + (ulong)orc.Length * 4, 'R'),
            new("__start_orc_unwind", Orc, 'R'), new("__stop_orc_unwind", Orc + (ulong)orc.Length * 6, 'R'),
        ], "synthetic");
        var kernel = new DumpedKernel(m, VmcoreInfo.Parse("OSRELEASE=6.1.0-synthetic\n"), symbols);
        var info = OrcUnwindInfo.Load(kernel, out var problem) ?? throw new InvalidOperationException(problem);
        return (kernel, m, new Unwinder(kernel, info, PtRegsLayout.From(PtRegsBtf())));
    }

    /// <summary>struct pt_regs: 21 unsigned longs in kernel order.</summary>
    private static BtfTypes PtRegsBtf()
    {
        var b = new BtfBuilder();
        var ul = b.Int("long unsigned int", 8, 64);
        var members = RegisterSet.PtRegsMembers.Select((n, i) => (n, ul, (uint)(i * 64), 0u)).ToArray();
        b.Struct("pt_regs", (uint)(members.Length * 8), members);
        return BtfTypes.Parse(b.Build());
    }

    private static UnwindStart At(ulong ip, ulong sp)
    {
        var v = new ulong[RegisterSet.PtRegsMembers.Length];
        v[RegisterSet.Ip] = ip;
        v[RegisterSet.Sp] = sp;
        v[RegisterSet.Cs] = 0x10;
        return new UnwindStart(new RegisterSet(v, full: true), ExactIp: true);
    }

    [Fact]
    public void Clean_stack_walks_to_the_end_of_stack_entry()
    {
        var (_, m, u) = Make();
        var sp = StackTop - 0x100;
        m.WriteU64(sp, B + 0x20);       // fa's return address into fb
        m.WriteU64(sp + 8 + 8, C + 5);  // fb's CFA is sp+16: return address below it
        var (frames, end, reason) = u.Walk(At(A + 0x10, sp), Stacks);
        Assert.True(end, reason);
        Assert.Equal("end of stack", reason);
        Assert.Equal(["fa", "fb", "fc"], frames.Select(f => f.Name));
        Assert.Equal([sp, sp, sp + 16], frames.Select(f => f.Slot));
    }

    [Fact]
    public void Return_addresses_that_loop_stop_at_the_frame_limit_or_stack_end()
    {
        var (_, m, u) = Make();
        for (var a = StackBase; a < StackTop; a += 8)
            m.WriteU64(a, A + 1); // every word "returns" into the leaf fa
        var (frames, end, reason) = u.Walk(At(A + 1, StackBase + 8), Stacks);
        Assert.False(end);
        Assert.Equal(Unwinder.MaxFrames, frames.Count);
        Assert.Contains("more than", reason);

        (frames, end, reason) = u.Walk(At(A + 1, StackTop - 0x40), Stacks);
        Assert.False(end);
        Assert.Equal(8, frames.Count);
        Assert.Contains("outside the task's and the CPU's stacks", reason);
    }

    [Fact]
    public void A_stack_pointer_that_does_not_rise_stops_the_walk()
    {
        var (_, m, u) = Make(bOffset: -8);
        var sp = StackTop - 0x100;
        m.WriteU64(sp, B + 0x20);
        m.WriteU64(sp - 16, A + 3);
        var (frames, end, reason) = u.Walk(At(A + 0x10, sp), Stacks);
        Assert.False(end);
        Assert.Equal(2, frames.Count);
        Assert.Contains("does not rise", reason);
    }

    [Fact]
    public void A_stack_page_missing_from_the_dump_is_the_stated_reason()
    {
        var (_, _, u) = Make();
        var outside = new KernelStack(KernelStack.TaskStackName, 0xffffc90000100000, 0xffffc90000104000); // never mapped
        var (frames, end, reason) = u.Walk(At(A + 0x10, outside.Start + 0x100), [outside]);
        Assert.False(end);
        Assert.Single(frames);
        Assert.Contains("stack page not in the dump", reason);
    }

    [Fact]
    public void An_ip_in_an_orc_gap_with_unanalysable_code_stops_with_orc_undefined()
    {
        var (_, m, u) = Make();
        m.Write(End, [0xc9, 0xc3]); // leave; ret: the code analysis does not model leave
        var sp = StackTop - 0x100;
        var (frames, end, reason) = u.Walk(At(End + 1, sp), Stacks);
        Assert.False(end);
        Assert.Single(frames);
        Assert.Contains("ORC undefined", reason);
    }

    [Fact]
    public void Code_analysis_gives_the_cfa_where_orc_is_undefined()
    {
        var (_, m, u) = Make();
        // At End: push %rbx; sub $0x20,%rsp; nop  — the ip after the sub is 0x28 bytes deep.
        m.Write(End, [0x53, 0x48, 0x83, 0xec, 0x20, 0x90, 0xc3]);
        var sp = StackTop - 0x100;
        m.WriteU64(sp + 0x28, C + 1);
        var (frames, end, reason) = u.Walk(At(End + 5, sp), Stacks);
        Assert.True(end, reason);
        Assert.Equal(["fd", "fc"], frames.Select(f => f.Name));
        Assert.True(frames[0].CfaFromCode);
    }

    [Fact]
    public void Orc_layouts_decode_from_btf()
    {
        Assert.Same(OrcEntryLayout.Linux61, OrcEntryLayout.From(null));
        var raw = Entry61(16, -8, OrcReg.Sp, OrcReg.PrevSp, 1, false);
        Assert.Equal(new OrcEntry(16, -8, OrcReg.Sp, OrcReg.PrevSp, OrcFrameType.Regs, true), OrcEntryLayout.Linux61.Decode(raw));

        // 6.4+: sp_reg:4 bp_reg:4 type:3 signal:1, type 2 = CALL.
        var b = new BtfBuilder();
        var s16 = b.Int("short int", 2, 16, BtfIntEncoding.Signed);
        var u32 = b.Int("unsigned int", 4, 32);
        b.Struct("orc_entry", 6, ("sp_offset", s16, 0, 0), ("bp_offset", s16, 16, 0), ("sp_reg", u32, 32, 4),
            ("bp_reg", u32, 36, 4), ("type", u32, 40, 3), ("signal", u32, 43, 1));
        var layout = OrcEntryLayout.From(BtfTypes.Parse(b.Build()));
        Assert.True(layout.NewTypeNumbering);
        Assert.StartsWith("BTF struct orc_entry", layout.Source);
        var e = new byte[6];
        BinaryPrimitives.WriteInt16LittleEndian(e, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(4), (ushort)((int)OrcReg.Sp | 2 << 8 | 1 << 11));
        Assert.Equal(new OrcEntry(8, 0, OrcReg.Sp, OrcReg.Undefined, OrcFrameType.Call, true), layout.Decode(e));
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(4), 1 << 8);
        Assert.Equal(OrcFrameType.EndOfStack, layout.Decode(e).Type);
    }
}
