// The one seam through which everything above the address space reads the dumped kernel.
namespace Kdx.Kernel.Memory;

public interface IKernelMemory
{
    /// <summary>
    /// Fills <paramref name="destination"/> from kernel virtual address <paramref name="vaddr"/>.
    /// Throws <see cref="Kdx.Dump.PageNotInDumpException"/> when a page is not in the dump, and
    /// <see cref="Kdx.Dump.DumpFormatException"/> when the dump's own data is bad.
    /// </summary>
    void Read(ulong vaddr, Span<byte> destination);
}
