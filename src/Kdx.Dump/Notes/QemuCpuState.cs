// QEMU's own per-CPU note (name "QEMU", QEMUCPUState in QEMU's target/i386/arch_dump.c): the
// full register file at dump time, including the control registers, so CR3 (the page-table root
// the CPU was using) and the GS bases are known even without the kernel's help.
using System.Buffers.Binary;

namespace Kdx.Dump.Notes;

public sealed class QemuCpuState
{
    private const int RegsOffset = 8;         // rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8..r15, rip, rflags
    private const int SegmentsOffset = 152;   // cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt (QEMUCPUSegment, 24 bytes each)
    private const int SegmentSize = 24;       // { u32 selector; u32 limit; u32 flags; u32 pad; u64 base; }
    private const int CrOffset = 392;         // cr[5]
    private const int KernelGsBaseOffset = 432;
    private const int MinSize = CrOffset + 5 * 8;

    private QemuCpuState() { }

    public int Cpu { get; private init; }
    public uint Version { get; private init; }
    public ulong Rip { get; private init; }
    public ulong Rsp { get; private init; }
    public ulong Rflags { get; private init; }
    public ulong GsBase { get; private init; }
    public ulong Cr0 { get; private init; }
    public ulong Cr3 { get; private init; }
    public ulong Cr4 { get; private init; }

    /// <summary>MSR_KERNEL_GS_BASE when the note has it (QEMUCPUState version 1 of 440 bytes).</summary>
    public ulong? KernelGsBase { get; private init; }

    /// <summary>Decodes one QEMU note descriptor; null when it is too short.</summary>
    public static QemuCpuState? Parse(int cpu, ReadOnlySpan<byte> d)
    {
        if (d.Length < MinSize)
            return null;
        var size = BinaryPrimitives.ReadUInt32LittleEndian(d[4..]);
        return new QemuCpuState
        {
            Cpu = cpu,
            Version = BinaryPrimitives.ReadUInt32LittleEndian(d),
            Rsp = U64(d, RegsOffset + 6 * 8),
            Rip = U64(d, RegsOffset + 16 * 8),
            Rflags = U64(d, RegsOffset + 17 * 8),
            GsBase = U64(d, SegmentsOffset + 4 * SegmentSize + 16),
            Cr0 = U64(d, CrOffset),
            Cr3 = U64(d, CrOffset + 3 * 8),
            Cr4 = U64(d, CrOffset + 4 * 8),
            KernelGsBase = size >= KernelGsBaseOffset + 8 && d.Length >= KernelGsBaseOffset + 8 ? U64(d, KernelGsBaseOffset) : null,
        };
    }

    private static ulong U64(ReadOnlySpan<byte> d, int at) => BinaryPrimitives.ReadUInt64LittleEndian(d[at..]);

    public static List<QemuCpuState> FromNotes(IEnumerable<ElfNote> notes)
    {
        var cpus = new List<QemuCpuState>();
        foreach (var n in notes)
            if (n.IsQemuCpuState && Parse(cpus.Count, n.Descriptor) is { } c)
                cpus.Add(c);
        return cpus;
    }
}
