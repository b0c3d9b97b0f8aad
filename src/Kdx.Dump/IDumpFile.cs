// An opened dump, whatever its container: its physical memory plus what the file says about
// itself (format, compression, dump level, notes, VMCOREINFO). Open one with DumpFile.Open.
using Kdx.Dump.Notes;

namespace Kdx.Dump;

public enum DumpFormat
{
    /// <summary>ELF64 core: /proc/vmcore, makedumpfile -E, QEMU dump-guest-memory.</summary>
    ElfCore,
    /// <summary>kdump-compressed ("KDUMP   ") from makedumpfile or QEMU.</summary>
    KdumpCompressed,
}

/// <summary>Page counts over pfns 0..MaxPfn. Zero is null when the format cannot tell without reading every page.</summary>
public sealed record PageCounts(ulong Present, ulong? Zero, ulong Excluded, ulong Hole, ulong Lost);

public interface IDumpFile : IPhysicalMemory, IDisposable
{
    /// <summary>The files the dump was read from (several for a split set).</summary>
    IReadOnlyList<string> Paths { get; }

    DumpFormat Format { get; }

    /// <summary>Human description, e.g. "kdump-compressed v6, flattened".</summary>
    string FormatDescription { get; }

    /// <summary>Read from makedumpfile's flattened stream format.</summary>
    bool IsFlattened { get; }

    /// <summary>"none", "zlib", "lzo", "snappy", "zstd".</summary>
    string Compression { get; }

    /// <summary>makedumpfile's dump level (-d), when the file records it.</summary>
    int? DumpLevel { get; }

    /// <summary>The writer was cut short (ENOSPC or similar): some pages may be lost.</summary>
    bool IsIncomplete { get; }

    /// <summary>Machine type from the file (EM_X86_64 = 62 for ELF; from utsname for kdump), e.g. "x86_64".</summary>
    string? Machine { get; }

    /// <summary>The VMCOREINFO note, when the dump has one.</summary>
    VmcoreInfo? VmcoreInfo { get; }

    IReadOnlyList<ElfNote> Notes { get; }

    /// <summary>Per-CPU saved registers from NT_PRSTATUS notes.</summary>
    IReadOnlyList<CpuState> Cpus { get; }

    /// <summary>QEMU's per-CPU register notes (dump-guest-memory only), with CR3 and the GS bases.</summary>
    IReadOnlyList<QemuCpuState> QemuCpus { get; }

    /// <summary>Counts pages by state; reads the page tables of the file, not the pages.</summary>
    PageCounts CountPages();
}
