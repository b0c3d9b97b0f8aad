// Struct layout of the dumped kernel from the sources it carries: VMCOREINFO's OFFSET/SIZE lines
// first (what the kernel vouches for), BTF for everything else. Nothing here knows a number.
using Kdx.Dump;

namespace Kdx.Kernel;

public sealed class KernelLayout(VmcoreInfo vmcoreInfo, Btf.BtfTypes? btf = null)
{
    public VmcoreInfo VmcoreInfo { get; } = vmcoreInfo;
    public Btf.BtfTypes? Btf { get; } = btf;

    /// <summary>Byte offset of <paramref name="member"/> (a path, e.g. "se.sum_exec_runtime") in <paramref name="structName"/>, or null.</summary>
    public ulong? Offset(string structName, string member) =>
        VmcoreInfo.Offset(structName, member) ?? Btf?.OffsetOf(structName, member);

    public ulong? Size(string structName) => VmcoreInfo.Size(structName) ?? Btf?.SizeOf(structName);

    /// <summary>A member's bit position and width (bitfields exist only in BTF), or null.</summary>
    public (ulong BitOffset, uint Bits)? BitField(string structName, string member)
    {
        if (Btf is null || !Btf.TryField(structName + "." + member, out var f, out _))
            return null;
        var bits = f.IsBitfield ? f.BitfieldSize : (uint)((Btf.SizeOf(f.Type) ?? 0) * 8);
        return (f.BitOffset, bits);
    }

    public ulong RequireOffset(string structName, string member) =>
        Offset(structName, member) ?? throw Missing($"OFFSET({structName}.{member})");

    public ulong RequireSize(string structName) => Size(structName) ?? throw Missing($"SIZE({structName})");

    public ulong RequireSymbol(string name) => VmcoreInfo.Symbol(name) ?? throw Missing($"SYMBOL({name})");

    /// <summary>A required layout fact is in neither VMCOREINFO nor BTF: the dump cannot be read this way.</summary>
    public static DumpFormatException Missing(string what) =>
        new("VMCOREINFO", 0, $"{what} is in neither VMCOREINFO nor BTF");
}
