// One CPU's saved state from its NT_PRSTATUS note: the task's pid and the x86_64 pt_regs the
// kernel captured in crash_save_cpu(). Layout from struct elf_prstatus on x86_64.
using System.Buffers.Binary;

namespace Kdx.Dump.Notes;

public sealed class CpuState
{
    /// <summary>sizeof(struct elf_prstatus) on x86_64.</summary>
    public const int PrStatusSize = 336;

    private const int PidOffset = 32;  // pr_pid
    private const int RegsOffset = 112; // pr_reg (struct user_regs_struct)

    /// <summary>pt_regs / user_regs_struct in order, one 8-byte slot each.</summary>
    public static readonly IReadOnlyList<string> RegisterNames =
    [
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
        "rax", "rcx", "rdx", "rsi", "rdi", "orig_ax", "ip", "cs", "flags", "sp",
        "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
    ];

    private readonly ulong[] _regs;

    private CpuState(int cpu, int pid, ulong[] regs)
    {
        Cpu = cpu;
        Pid = pid;
        _regs = regs;
    }

    /// <summary>Position of the note among the dump's NT_PRSTATUS notes (the kernel writes them in CPU order of the CPUs that were online).</summary>
    public int Cpu { get; }

    /// <summary>pr_pid: the pid of the task running on the CPU (0 for an idle CPU).</summary>
    public int Pid { get; }

    public IReadOnlyList<ulong> Registers => _regs;

    public ulong this[string name]
    {
        get
        {
            for (var i = 0; i < RegisterNames.Count; i++)
                if (RegisterNames[i] == name)
                    return _regs[i];
            throw new ArgumentException($"no register named {name}", nameof(name));
        }
    }

    public ulong Ip => _regs[16];
    public ulong Sp => _regs[19];
    public ulong Bp => _regs[4];
    public ulong Flags => _regs[18];
    public ulong Cs => _regs[17];

    /// <summary>Decodes an x86_64 NT_PRSTATUS descriptor; null when it is too short to be one.</summary>
    public static CpuState? FromPrStatus(int cpu, ReadOnlySpan<byte> desc)
    {
        if (desc.Length < RegsOffset + RegisterNames.Count * 8)
            return null;
        var regs = new ulong[RegisterNames.Count];
        for (var i = 0; i < regs.Length; i++)
            regs[i] = BinaryPrimitives.ReadUInt64LittleEndian(desc[(RegsOffset + 8 * i)..]);
        return new CpuState(cpu, BinaryPrimitives.ReadInt32LittleEndian(desc[PidOffset..]), regs);
    }

    public static List<CpuState> FromNotes(IEnumerable<ElfNote> notes)
    {
        var cpus = new List<CpuState>();
        foreach (var n in notes)
            if (n.IsPrStatus && FromPrStatus(cpus.Count, n.Descriptor) is { } c)
                cpus.Add(c);
        return cpus;
    }
}
