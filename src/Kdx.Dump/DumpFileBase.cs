// What every format shares: splitting a physical read into the pieces the format can serve
// in one go, and turning absent pages into PageNotInDumpException.
using Kdx.Dump.Notes;

namespace Kdx.Dump;

public abstract class DumpFileBase : IDumpFile
{
    private List<QemuCpuState>? _qemuCpus;

    public abstract IReadOnlyList<string> Paths { get; }
    public abstract DumpFormat Format { get; }
    public abstract string FormatDescription { get; }
    public abstract bool IsFlattened { get; }
    public abstract string Compression { get; }
    public abstract int? DumpLevel { get; }
    public abstract bool IsIncomplete { get; }
    public abstract string? Machine { get; }
    public abstract VmcoreInfo? VmcoreInfo { get; }
    public abstract IReadOnlyList<ElfNote> Notes { get; }
    public abstract IReadOnlyList<CpuState> Cpus { get; }
    public virtual IReadOnlyList<QemuCpuState> QemuCpus => LazyInitializer.EnsureInitialized(ref _qemuCpus, () => QemuCpuState.FromNotes(Notes));
    public abstract int PageSize { get; }
    public abstract ulong MaxPfn { get; }

    public abstract PageState GetPageState(ulong pfn);

    public abstract PageCounts CountPages();

    public void Read(ulong paddr, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var n = ReadPiece(paddr, destination);
            destination = destination[n..];
            paddr += (ulong)n;
        }
    }

    /// <summary>
    /// Copies a non-empty prefix of <paramref name="destination"/> from <paramref name="paddr"/>
    /// and returns its length; throws <see cref="PageNotInDumpException"/> when the first byte is absent.
    /// </summary>
    protected abstract int ReadPiece(ulong paddr, Span<byte> destination);

    public abstract void Dispose();

    /// <summary>The files and pfn ranges a whole-dump scan covers (several for a split set).</summary>
    internal virtual IEnumerable<(DumpFileBase File, ulong Start, ulong End)> ScanRanges() => [(this, 0, MaxPfn)];

    /// <summary>
    /// Reads every stored page of pfns [<paramref name="start"/>, <paramref name="end"/>) into the
    /// worker's buffer, counting each pfn by state and reporting damaged pages instead of throwing.
    /// </summary>
    internal abstract void ScanChunk(ulong start, ulong end, PageScanWorker worker);

    /// <summary>The first VMCOREINFO note among <paramref name="notes"/>, parsed.</summary>
    protected static VmcoreInfo? FindVmcoreInfo(IReadOnlyList<ElfNote> notes)
    {
        foreach (var n in notes)
            if (n.IsVmcoreInfo)
                return VmcoreInfo.Parse(n.Descriptor);
        return null;
    }
}
