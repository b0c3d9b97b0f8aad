// The dumped kernel's CPUs: which exist (cpu_present_mask) and which were online, and where each
// CPU's copy of a per-CPU variable lives (__per_cpu_offset[cpu] + the variable's kallsyms value).
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Objects;

public sealed class KernelCpus
{
    private readonly IKernelMemory _memory;
    private readonly SymbolTable _symbols;
    private readonly ulong _perCpuOffsets;

    public KernelCpus(IKernelMemory memory, SymbolTable symbols)
    {
        _memory = memory;
        _symbols = symbols;
        var ids = (int)memory.ReadU32(Require("nr_cpu_ids"));
        Present = Mask("__cpu_present_mask", ids);
        Online = Mask("__cpu_online_mask", ids);
        _perCpuOffsets = Require("__per_cpu_offset");
    }

    /// <summary>CPUs that exist in the machine, in order.</summary>
    public IReadOnlyList<int> Present { get; }

    /// <summary>CPUs that were online when the dump was taken (others were stopped by the panic or never brought up).</summary>
    public IReadOnlyList<int> Online { get; }

    /// <summary>Address of <paramref name="cpu"/>'s copy of the per-CPU variable <paramref name="symbol"/>.</summary>
    public ulong PerCpu(string symbol, int cpu) => Require(symbol) + _memory.ReadU64(PerCpuOffsetAddress(cpu));

    /// <summary>Where __per_cpu_offset[cpu] is stored (for per-CPU pointers such as percpu_counter.counters).</summary>
    public ulong PerCpuOffsetAddress(int cpu) => _perCpuOffsets + (ulong)cpu * 8;

    private ulong Require(string name) =>
        _symbols.Lookup(name)?.Address ?? throw KernelLayout.Missing($"symbol {name}");

    private List<int> Mask(string symbol, int ids)
    {
        var list = new List<int>();
        var bits = Require(symbol);
        for (var word = 0; word * 64 < ids; word++)
        {
            var w = _memory.ReadU64(bits + (ulong)word * 8);
            for (var b = 0; b < 64 && word * 64 + b < ids; b++)
                if ((w >> b & 1) != 0)
                    list.Add(word * 64 + b);
        }
        return list;
    }
}
