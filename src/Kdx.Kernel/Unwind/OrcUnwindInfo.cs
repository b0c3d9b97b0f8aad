// All ORC tables of the dumped kernel: vmlinux's between __start_orc_unwind_ip/__stop_orc_unwind_ip
// and __start_orc_unwind, and each loaded module's (struct module.arch.orc_unwind_ip, orc_unwind,
// num_orcs, on each module KernelModules reads). Read once, on first use.
using Kdx.Dump;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Modules;

namespace Kdx.Kernel.Unwind;

/// <summary>A loaded module as the unwinder needs it: its ORC table and its own symbols (module kallsyms), when readable.</summary>
public sealed record LoadedModule(string Name, OrcTable Orc, Symbols.SymbolTable? Symbols);

public sealed class OrcUnwindInfo
{
    /// <summary>Most modules walked (guards against a corrupt, cyclic list).</summary>
    public const int MaxModules = 4096;

    private readonly Lazy<IReadOnlyList<LoadedModule>> _modules;

    private readonly ulong _vmlinuxEnd;

    private OrcUnwindInfo(OrcTable vmlinux, ulong vmlinuxEnd, Func<IReadOnlyList<LoadedModule>> modules, string? moduleProblem)
    {
        Vmlinux = vmlinux;
        _vmlinuxEnd = vmlinuxEnd;
        _modules = new(modules);
        ModuleProblem = moduleProblem;
    }

    public OrcTable Vmlinux { get; }
    public IReadOnlyList<LoadedModule> Modules => _modules.Value;

    /// <summary>Why module ORC is unavailable (no BTF for struct module's arch fields), if it is.</summary>
    public string? ModuleProblem { get; }

    /// <summary>vmlinux's ORC tables, or null with the reason when the kernel has none (not CONFIG_UNWINDER_ORC).</summary>
    public static OrcUnwindInfo? Load(DumpedKernel kernel, out string? problem)
    {
        var s = kernel.Symbols;
        if (s.Lookup("__start_orc_unwind_ip") is not { } ipStart || s.Lookup("__stop_orc_unwind_ip") is not { } ipStop
            || s.Lookup("__start_orc_unwind") is not { } orcStart)
        {
            problem = "the kernel has no ORC tables (__start_orc_unwind_ip missing: not built with CONFIG_UNWINDER_ORC)";
            return null;
        }
        var layout = OrcEntryLayout.From(kernel.Btf);
        var count = (long)(ipStop.Address - ipStart.Address) / 4;
        if (s.Lookup("__stop_orc_unwind") is { } orcStop && (long)(orcStop.Address - orcStart.Address) != count * OrcEntryLayout.EntrySize)
            throw new DumpFormatException("kallsyms", 0, $"ORC tables disagree: {count} ips but {(orcStop.Address - orcStart.Address)} bytes of entries");
        var vmlinux = OrcTable.Read(kernel.Memory, "vmlinux", ipStart.Address, orcStart.Address, count, layout);
        problem = null;
        var l = kernel.Layout;
        string? moduleProblem = null;
        if (l.Offset("module", "arch.orc_unwind_ip") is null || l.Offset("module", "arch.num_orcs") is null || s.Lookup("modules") is null)
            moduleProblem = "struct module has no arch.orc_unwind_ip/num_orcs in BTF (or no `modules` symbol): module frames use frame pointers";
        // vmlinux's table covers its text up to _etext; the last entry is the terminator.
        var end = Math.Max(s.Lookup("_etext")?.Address ?? 0, vmlinux.LastIp + 1);
        return new OrcUnwindInfo(vmlinux, end, () => moduleProblem is null ? ReadModules(kernel, layout) : [], moduleProblem);
    }

    private static List<LoadedModule> ReadModules(DumpedKernel kernel, OrcEntryLayout layout)
    {
        var o = kernel.Objects;
        var tables = new List<LoadedModule>();
        IReadOnlyList<KernelModule> modules;
        try
        {
            modules = KernelModules.Read(kernel);
        }
        catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException or DumpFormatException)
        {
            return tables; // an unreadable modules list leaves module frames to the frame-pointer fallback
        }
        foreach (var mod in modules.Take(MaxModules))
        {
            try
            {
                var num = o.Unsigned(mod.Address, "module", "arch.num_orcs");
                var ips = o.Pointer(mod.Address, "module", "arch.orc_unwind_ip");
                if (num == 0 || ips == 0)
                    continue;
                var table = OrcTable.Read(kernel.Memory, mod.Name, ips, o.Pointer(mod.Address, "module", "arch.orc_unwind"), (long)num, layout);
                tables.Add(new LoadedModule(mod.Name, table, ModuleKallsyms.Functions(kernel, mod)));
            }
            catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException or InvalidDataException)
            {
                // One module's unreadable table leaves its frames to the frame-pointer fallback.
            }
        }
        return tables;
    }

    /// <summary>The ORC entry for <paramref name="ip"/> in vmlinux or a module, or null when no table covers it.</summary>
    public OrcEntry? Find(ulong ip)
    {
        if (ip >= Vmlinux.FirstIp && ip < _vmlinuxEnd)
            return Vmlinux.Find(ip);
        return ModuleOf(ip)?.Orc.Find(ip);
    }

    /// <summary>The loaded module whose ORC table covers <paramref name="ip"/>, or null.</summary>
    public LoadedModule? ModuleOf(ulong ip)
    {
        foreach (var t in Modules)
            if (ip >= t.Orc.FirstIp && ip <= t.Orc.LastIp)
                return t;
        return null;
    }
}
