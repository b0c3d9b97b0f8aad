// The kernel inside a dump, as the commands above see it: symbols from kallsyms, types from the
// kernel's own BTF, struct layout from VMCOREINFO then BTF, and the log — each read once, on
// first use, through the one IKernelMemory seam.
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Log;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Objects;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel;

public sealed class DumpedKernel
{
    private readonly Lazy<SymbolTable> _symbols;
    private readonly Lazy<BtfTypes?> _btf;
    private readonly Lazy<KernelLayout> _layout;
    private readonly Lazy<KernelLog> _log;
    private readonly Lazy<IReadOnlyList<LoadedModuleBtf>> _moduleBtf;
    private readonly Lazy<KernelObjects> _objects;
    private readonly Lazy<KernelCpus> _cpus;

    /// <param name="systemMap">Symbols from a System.map instead of kallsyms (old kernels without kallsyms in VMCOREINFO).</param>
    /// <param name="btf">Types from elsewhere (a vmlinux's .BTF) instead of the dump's own BTF.</param>
    public DumpedKernel(IKernelMemory memory, VmcoreInfo vmcoreInfo, SymbolTable? systemMap = null, BtfTypes? btf = null)
    {
        Memory = memory;
        VmcoreInfo = vmcoreInfo;
        _symbols = new(() => systemMap ?? Kallsyms.Read(memory, vmcoreInfo));
        _btf = new(() => btf ?? LoadBtf());
        _layout = new(() => new KernelLayout(vmcoreInfo, Btf));
        _log = new(() => KernelLog.Read(memory, Layout));
        _objects = new(() => new KernelObjects(memory, Layout));
        _cpus = new(() => new KernelCpus(memory, Symbols));
        _moduleBtf = new(() => Btf is { } vmlinux ? Kdx.Kernel.Btf.ModuleBtf.ReadAll(memory, Symbols, vmlinux) : []);
    }

    public IKernelMemory Memory { get; }
    public VmcoreInfo VmcoreInfo { get; }
    public SymbolTable Symbols => _symbols.Value;

    /// <summary>vmlinux BTF from __start_BTF..__stop_BTF, or null when the kernel has none (no CONFIG_DEBUG_INFO_BTF).</summary>
    public BtfTypes? Btf => _btf.Value;

    public KernelLayout Layout => _layout.Value;

    /// <summary>The loaded modules' BTF (split on <see cref="Btf"/>); empty without vmlinux BTF.</summary>
    public IReadOnlyList<LoadedModuleBtf> ModuleBtf => _moduleBtf.Value;
    public KernelLog Log => _log.Value;

    /// <summary>A global's address: VMCOREINFO's SYMBOL() first (some name macros, e.g. node_online_map), then kallsyms.</summary>
    public ulong? SymbolAddress(string name) => VmcoreInfo.Symbol(name) ?? Symbols.Lookup(name)?.Address;

    public ulong RequireSymbol(string name) => SymbolAddress(name) ?? throw KernelLayout.Missing($"SYMBOL({name}) or kallsyms {name}");

    /// <summary>Member reads by struct and member name (layout from VMCOREINFO and BTF).</summary>
    public KernelObjects Objects => _objects.Value;

    /// <summary>Present/online CPUs and per-CPU variable addresses.</summary>
    public KernelCpus Cpus => _cpus.Value;

    /// <summary>Why BTF is absent, when it is (for "(no BTF: ...)" notes in reports).</summary>
    public string? BtfProblem
    {
        get
        {
            _ = _btf.Value;
            return _btfProblem;
        }
    }

    private string? _btfProblem;

    private BtfTypes? LoadBtf()
    {
        if (Symbols.Lookup("__start_BTF") is not { } start || Symbols.Lookup("__stop_BTF") is not { } stop)
        {
            _btfProblem = "kernel has no __start_BTF/__stop_BTF symbols (built without CONFIG_DEBUG_INFO_BTF)";
            return null;
        }
        try
        {
            return BtfTypes.FromMemory(Memory, start.Address, stop.Address);
        }
        catch (PageNotInDumpException e)
        {
            _btfProblem = $"BTF pages not in the dump: {e.Message}";
            return null;
        }
    }
}
