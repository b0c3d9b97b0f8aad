// A kernel virtual address that the dumped kernel's page tables do not map (or that is not even
// canonical). Unlike PageNotInDumpException the dump is fine: the address is wrong.
namespace Kdx.Kernel.Memory;

public sealed class UnmappedAddressException(ulong vaddr, string reason)
    : Exception($"virtual address 0x{vaddr:x}: {reason}")
{
    public ulong VirtualAddress { get; } = vaddr;
    public string Reason { get; } = reason;
}
