// Loaded modules from the `modules` list: struct module address, name, base and size of the core
// (core_layout before 6.4; the mem[] regions after, base of MOD_TEXT and their sizes summed), and
// taint letters from the kernel's own taint_flags table (O = out-of-tree, E = unsigned, ...).
using System.Text;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Objects;

namespace Kdx.Kernel.Modules;

public sealed record KernelModule(ulong Address, string Name, ulong Base, ulong Size, ulong Taints, string TaintLetters);

public static class KernelModules
{
    /// <summary>Every loaded module; throws the first read failure (see the overload that collects them).</summary>
    public static IReadOnlyList<KernelModule> Read(DumpedKernel kernel)
    {
        var gaps = new List<ReadGap>();
        var list = Read(kernel, gaps);
        if (gaps.Count > 0)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(gaps[0].Cause);
        return list;
    }

    /// <summary>
    /// The modules the dump holds: a struct module the dump lacks is left out and a break in the
    /// list is walked around from its other end, each recorded in <paramref name="gaps"/>.
    /// </summary>
    public static IReadOnlyList<KernelModule> Read(DumpedKernel kernel, ICollection<ReadGap> gaps)
    {
        var o = kernel.Objects;
        var head = kernel.RequireSymbol("modules");
        var list = new List<KernelModule>();
        foreach (var m in o.ReadList(head, "module", "list", gaps, "the module list (modules)", limit: 1 << 16))
        {
            try
            {
                var (b, size) = Core(o, m);
                var taints = o.Unsigned(m, "module", "taints");
                list.Add(new KernelModule(m, o.CharArray(m, "module", "name"), b, size, taints, Letters(kernel, taints)));
            }
            catch (Exception e) when (ReadGap.IsMissingData(e))
            {
                gaps.Add(ReadGap.From($"struct module at 0x{m:x} (the module is left out)", e));
            }
        }
        list.Sort((x, y) => x.Address.CompareTo(y.Address));
        return list;
    }

    private static (ulong Base, ulong Size) Core(KernelObjects o, ulong m)
    {
        if (o.Has("module", "core_layout"))
            return (o.Pointer(m, "module", "core_layout.base"), o.Unsigned(m, "module", "core_layout.size"));
        var types = o.Enumerator("MOD_MEM_NUM_TYPES");
        ulong size = 0;
        for (var i = 0; i < types; i++)
            size += o.Unsigned(m, "module", $"mem[{i}].size");
        return (o.Pointer(m, "module", $"mem[{o.Enumerator("MOD_TEXT")}].base"), size);
    }

    /// <summary>taint_flags[bit].c_true for each set bit (the kernel's table, so no letter list here).</summary>
    public static string Letters(DumpedKernel kernel, ulong taints)
    {
        if (taints == 0 || kernel.SymbolAddress("taint_flags") is not { } table)
            return "";
        var o = kernel.Objects;
        var size = o.SizeOf("taint_flag");
        var sb = new StringBuilder();
        for (var bit = 0; bit < 64; bit++)
            if ((taints >> bit & 1) != 0)
                sb.Append((char)o.Unsigned(table + (ulong)bit * size, "taint_flag", "c_true"));
        return sb.ToString();
    }
}
