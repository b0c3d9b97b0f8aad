// How big a dump of this machine would be if it crashed now, from /proc/meminfo and the collector's
// dump level and compression. A documented heuristic (docs/doctor.md), not a measurement.
namespace Kdx.Setup.Doctor;

public sealed record DumpSizeEstimate(long KeptBytes, long FileBytes, string Basis)
{
    /// <summary>Assumed ratio of a compressed page to a raw one; kernel data usually does better, so this leans safe.</summary>
    public const double CompressedRatio = 0.5;

    /// <summary>Per kept page: one 24-byte page descriptor in the kdump-compressed format.</summary>
    private const int PageDescriptorBytes = 24;

    private const long PageSize = 4096;

    public static DumpSizeEstimate For(MemInfo mem, CoreCollector collector)
    {
        long total = mem.Get("MemTotal");
        if (!collector.IsMakedumpfile)
            return new DumpSizeEstimate(total, total, "all of RAM: the collector copies /proc/vmcore as is");

        int level = collector.DumpLevel;
        long excluded = 0;
        var parts = new List<string>();
        if ((level & 16) != 0)
        {
            excluded += mem.Get("MemFree");
            parts.Add("free");
        }
        if ((level & 4) != 0)
        {
            excluded += mem.Get("Cached") + mem.Get("Buffers");
            parts.Add("cache");
        }
        else if ((level & 2) != 0)
        {
            // Buffers mostly carry PG_private, which level 2 keeps.
            excluded += mem.Get("Cached");
            parts.Add("non-private cache");
        }
        if ((level & 8) != 0)
        {
            long hugePages = Math.Max(0, mem.Get("HugePages_Total") - mem.Get("HugePages_Free"));
            excluded += mem.Get("AnonPages") + hugePages * mem.Get("Hugepagesize");
            parts.Add("user");
        }
        // Whatever the level, the kernel's own memory stays: never estimate below it.
        long kernelFloor = mem.Get("Slab") + mem.Get("KernelStack") + mem.Get("PageTables") + mem.Get("Percpu");
        long kept = Math.Clamp(total - excluded, Math.Min(kernelFloor, total), total);
        long file = collector.Compressed ? (long)(kept * CompressedRatio) : kept;
        if (!collector.Elf)
            file += total / PageSize / 4 + kept / PageSize * PageDescriptorBytes; // two bitmaps + descriptors
        if ((level & 1) != 0)
            parts.Add("zero pages (not counted)");
        string basis = $"dump level {level}" + (parts.Count > 0 ? $", excludes {string.Join(", ", parts)}" : ", keeps every page")
            + (collector.Compressed ? $", {collector.Compression} at an assumed {CompressedRatio:0%}" : ", uncompressed");
        return new DumpSizeEstimate(kept, file, basis);
    }
}
