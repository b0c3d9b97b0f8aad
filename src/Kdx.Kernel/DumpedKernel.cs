// The kernel inside a dump, as the commands above see it: symbols from kallsyms, types from the
// kernel's own BTF, struct layout from VMCOREINFO then BTF, and the log — each read once, on
// first use, through the one IKernelMemory seam.
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Log;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel;

public sealed class DumpedKernel
{
    private readonly Lazy<SymbolTable> _symbols;
    private readonly Lazy<BtfTypes?> _btf;
    private readonly Lazy<KernelLayout> _layout;
    private readonly Lazy<KernelLog> _log;

    /// <param name="systemMap">Symbols from a System.map instead of kallsyms (old kernels without kallsyms in VMCOREINFO).</param>
    public DumpedKernel(IKernelMemory memory, VmcoreInfo vmcoreInfo, SymbolTable? systemMap = null)
    {
        Memory = memory;
        VmcoreInfo = vmcoreInfo;
        _symbols = new(() => systemMap ?? Kallsyms.Read(memory, vmcoreInfo));
        _btf = new(LoadBtf);
        _layout = new(() => new KernelLayout(vmcoreInfo, Btf));
        _log = new(() => KernelLog.Read(memory, Layout));
    }

    public IKernelMemory Memory { get; }
    public VmcoreInfo VmcoreInfo { get; }
    public SymbolTable Symbols => _symbols.Value;

    /// <summary>vmlinux BTF from __start_BTF..__stop_BTF, or null when the kernel has none (no CONFIG_DEBUG_INFO_BTF).</summary>
    public BtfTypes? Btf => _btf.Value;

    public KernelLayout Layout => _layout.Value;
    public KernelLog Log => _log.Value;

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
