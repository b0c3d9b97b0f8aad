// The way in from a dump file to its kernel's virtual memory: picks the address space for the
// dump's architecture from its VMCOREINFO.
using Kdx.Dump;

namespace Kdx.Kernel.Arch.X86_64;

public static class KernelMemory
{
    /// <summary>The x86_64 kernel address space of <paramref name="dump"/>; needs its VMCOREINFO.</summary>
    public static X86_64AddressSpace Open(IDumpFile dump)
    {
        var file = dump.Paths[0];
        var info = dump.VmcoreInfo
            ?? throw new DumpFormatException(file, 0, "the dump has no VMCOREINFO note, so kernel virtual addresses cannot be translated (physical reads still work)");
        if (dump.Machine is { } m && m != "x86_64")
            throw new DumpFormatException(file, 0, $"dump is of a {m} machine; only x86_64 address translation is implemented");
        return X86_64AddressSpace.FromVmcoreInfo(dump, info, file);
    }
}
