// Where BTF comes from: a vmlinux or module ELF's .BTF section, or the kernel's own copy between
// __start_BTF and __stop_BTF read out of a dump.
using Kdx.Kernel.Images;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Btf;

public sealed partial class BtfTypes
{
    /// <summary>Loads the .BTF section of a vmlinux (base BTF) or of a module (pass the vmlinux BTF as base).</summary>
    public static BtfTypes FromElf(string path, BtfTypes? baseBtf = null)
    {
        using var image = ElfImage.Open(path);
        return FromElf(image, baseBtf);
    }

    public static BtfTypes FromElf(ElfImage image, BtfTypes? baseBtf = null)
    {
        if (image.FindSection(".BTF") is not { } section)
            return Fail(image.Path, 0, "no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)");
        var blob = image.ReadSection(section, MaxBlobLength);
        return Parse(blob, $"{image.Path}:.BTF", baseBtf);
    }

    /// <summary>
    /// Reads the kernel's BTF from memory between two addresses (kallsyms' <c>__start_BTF</c> and
    /// <c>__stop_BTF</c>, or a module's <c>btf_data</c>/<c>btf_data_size</c>).
    /// </summary>
    public static BtfTypes FromMemory(IKernelMemory memory, ulong start, ulong stop, BtfTypes? baseBtf = null)
    {
        var source = $"BTF at 0x{start:x}";
        if (stop <= start || stop - start > MaxBlobLength)
            Fail(source, 0, $"BTF range 0x{start:x}..0x{stop:x} is empty or larger than {MaxBlobLength} bytes");
        var blob = new byte[stop - start];
        memory.Read(start, blob);
        return Parse(blob, source, baseBtf);
    }
}
