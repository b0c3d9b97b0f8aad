// Source lines for addresses of the dumped kernel: vmlinux addresses through the -dbg vmlinux's
// line table after taking the KASLR offset off (runtime - KERNELOFFSET = link-time address),
// module addresses through the module's own .ko found under a debug directory. A module frame is
// placed in its .ko by its function (kallsyms name + offset -> the .ko's .symtab entry, whatever
// section the function is in), else by its offset from the module's .text base in the dump.
using Kdx.Kernel.Modules;
using Kdx.Kernel.Symbols;

namespace Kdx.Kernel.Debuginfo;

public sealed class KernelSourceLines : IDisposable
{
    /// <summary>Most files examined while searching a debug directory for modules.</summary>
    public const int MaxDirectoryEntries = 200_000;

    private readonly DebugElf? _vmlinux;
    private readonly ulong _kernelOffset;
    private readonly string? _debugDir;
    private readonly Func<IReadOnlyList<KernelModule>> _modules;
    private readonly Dictionary<string, DebugElf?> _moduleFiles = new(StringComparer.Ordinal);
    private Dictionary<string, string>? _koPaths;

    /// <param name="vmlinux">The debug vmlinux, or null when only modules have debuginfo.</param>
    /// <param name="kernelOffset">VMCOREINFO KERNELOFFSET of the dump.</param>
    /// <param name="debugDir">A directory searched for NAME.ko files with DWARF, or null.</param>
    /// <param name="modules">The dump's loaded modules (read only when a module address is looked up).</param>
    public KernelSourceLines(DebugElf? vmlinux, ulong kernelOffset, string? debugDir, Func<IReadOnlyList<KernelModule>> modules)
    {
        _vmlinux = vmlinux is { HasLines: true } ? vmlinux : null;
        _kernelOffset = kernelOffset;
        _debugDir = debugDir;
        _modules = modules;
    }

    /// <summary>
    /// Builds it for a dump: <paramref name="vmlinuxPath"/> is used when it has DWARF line tables.
    /// <paramref name="mismatch"/> says why the vmlinux is not the dumped kernel's (VMCOREINFO BUILD-ID
    /// against its NT_GNU_BUILD_ID note), null when they match or either is unknown.
    /// </summary>
    public static KernelSourceLines Open(DumpedKernel kernel, string? vmlinuxPath, string? debugDir, out string? mismatch)
    {
        mismatch = null;
        var vmlinux = vmlinuxPath is null ? null : DebugElf.Open(vmlinuxPath);
        if (vmlinux is { HasLines: false })
        {
            vmlinux.Dispose();
            vmlinux = null;
        }
        if (vmlinux?.BuildId() is { } fileId && kernel.VmcoreInfo.BuildId is { } dumpId
            && !string.Equals(fileId, dumpId.Trim(), StringComparison.OrdinalIgnoreCase))
            mismatch = $"build id {fileId} is not the dumped kernel's {dumpId.Trim()}";
        return new KernelSourceLines(vmlinux, kernel.VmcoreInfo.KernelOffset, debugDir, () => KernelModules.Read(kernel));
    }

    /// <summary>True when any line table is available (the vmlinux's, or a debug directory for modules).</summary>
    public bool Available => _vmlinux is not null || _debugDir is not null;

    public bool HasVmlinuxLines => _vmlinux is not null;

    /// <summary>
    /// The source line of <paramref name="address"/> (the byte to look up: a return address minus one
    /// for a caller frame). <paramref name="module"/> and <paramref name="symbol"/> are what kallsyms
    /// says about it (null module: vmlinux); the symbol's offset must be that of <paramref name="address"/>.
    /// </summary>
    public SourceLine? Lookup(ulong address, string? module, SymbolLocation? symbol)
    {
        if (module is null)
            return _vmlinux?.Lines?.Lookup(address - _kernelOffset);
        if (ModuleFile(module) is not { Lines: { } lines } ko)
            return null;
        return ModuleAddress(ko, module, address, symbol) is { } at ? lines.Lookup(at) : null;
    }

    /// <summary>The .ko found for a module, or null (no --debug-dir, not found, or no DWARF).</summary>
    public string? ModulePath(string module) => ModuleFile(module)?.Path;

    /// <summary>A module address in its .ko's line-table address space (see <see cref="DebugElf.SectionBase"/>).</summary>
    public ulong? ModuleAddress(string module, ulong address, SymbolLocation? symbol) =>
        ModuleFile(module) is { } ko ? ModuleAddress(ko, module, address, symbol) : null;

    private ulong? ModuleAddress(DebugElf ko, string module, ulong address, SymbolLocation? symbol)
    {
        if (symbol is { } s && ko.Symbols.Function(s.Symbol.Name) is { } start)
            return start + (address - s.Symbol.Address);
        var text = ko.SectionIndex(".text");
        foreach (var m in _modules())
            if (m.Name == module && text >= 0 && address >= m.Base && address - m.Base < ko.Sections[text].Size)
                return ko.SectionBase(text) + (address - m.Base);
        return null;
    }

    private DebugElf? ModuleFile(string module)
    {
        if (_debugDir is null)
            return null;
        lock (_moduleFiles)
        {
            if (_moduleFiles.TryGetValue(module, out var f))
                return f;
            _koPaths ??= FindModules(_debugDir);
            DebugElf? file = null;
            if (_koPaths.TryGetValue(module, out var path))
            {
                file = DebugElf.Open(path);
                if (!file.HasLines)
                {
                    file.Dispose();
                    file = null;
                }
            }
            _moduleFiles[module] = file;
            return file;
        }
    }

    /// <summary>NAME.ko files under DIR by module name ('-' and '_' are the same in module names), first found wins.</summary>
    public static Dictionary<string, string> FindModules(string dir)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 16, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var path in Directory.EnumerateFiles(dir, "*", options))
        {
            if (++seen > MaxDirectoryEntries)
                break;
            var name = System.IO.Path.GetFileName(path);
            var stem = name.EndsWith(".ko", StringComparison.Ordinal) ? name[..^3]
                : name.EndsWith(".ko.debug", StringComparison.Ordinal) ? name[..^9]
                : null;
            if (stem is not null)
                found.TryAdd(stem.Replace('-', '_'), path);
        }
        return found;
    }

    public void Dispose()
    {
        _vmlinux?.Dispose();
        foreach (var f in _moduleFiles.Values)
            f?.Dispose();
    }
}
