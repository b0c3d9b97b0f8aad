// On-disk records of the kdump-compressed format (makedumpfile diskdump_mod.h), x86_64 layout:
// disk_dump_header in block 0, kdump_sub_header in block 1, then bitmaps and page_desc entries.
using System.Buffers.Binary;
using System.Text;

namespace Kdx.Dump.Formats.Kdump;

internal readonly struct DiskDumpHeader
{
    public const int Size = 464;
    public const int StatusOffset = 424;
    public static ReadOnlySpan<byte> Signature => "KDUMP   "u8; // KDUMP_SIGNATURE

    public readonly int HeaderVersion;   // header_version
    public readonly string SysName;      // utsname.sysname
    public readonly string NodeName;     // utsname.nodename
    public readonly string Release;      // utsname.release
    public readonly string Version;      // utsname.version
    public readonly string Machine;      // utsname.machine
    public readonly long TimeSeconds;    // timestamp.tv_sec
    public readonly uint Status;         // status
    public readonly int BlockSize;       // block_size
    public readonly int SubHdrSize;      // sub_hdr_size (in blocks)
    public readonly uint BitmapBlocks;   // bitmap_blocks
    public readonly uint MaxMapnr;       // max_mapnr (32-bit, obsolete from version 6)
    public readonly uint TotalRamBlocks; // total_ram_blocks
    public readonly uint DeviceBlocks;   // device_blocks
    public readonly uint WrittenBlocks;  // written_blocks
    public readonly uint CurrentCpu;     // current_cpu
    public readonly int NrCpus;          // nr_cpus

    public DiskDumpHeader(ReadOnlySpan<byte> b)
    {
        HeaderVersion = BinaryPrimitives.ReadInt32LittleEndian(b[8..]);
        SysName = CString(b.Slice(12, 65));
        NodeName = CString(b.Slice(12 + 65, 65));
        Release = CString(b.Slice(12 + 2 * 65, 65));
        Version = CString(b.Slice(12 + 3 * 65, 65));
        Machine = CString(b.Slice(12 + 4 * 65, 65));
        TimeSeconds = BinaryPrimitives.ReadInt64LittleEndian(b[408..]);
        Status = BinaryPrimitives.ReadUInt32LittleEndian(b[424..]);
        BlockSize = BinaryPrimitives.ReadInt32LittleEndian(b[428..]);
        SubHdrSize = BinaryPrimitives.ReadInt32LittleEndian(b[432..]);
        BitmapBlocks = BinaryPrimitives.ReadUInt32LittleEndian(b[436..]);
        MaxMapnr = BinaryPrimitives.ReadUInt32LittleEndian(b[440..]);
        TotalRamBlocks = BinaryPrimitives.ReadUInt32LittleEndian(b[444..]);
        DeviceBlocks = BinaryPrimitives.ReadUInt32LittleEndian(b[448..]);
        WrittenBlocks = BinaryPrimitives.ReadUInt32LittleEndian(b[452..]);
        CurrentCpu = BinaryPrimitives.ReadUInt32LittleEndian(b[456..]);
        NrCpus = BinaryPrimitives.ReadInt32LittleEndian(b[460..]);
    }

    private static string CString(ReadOnlySpan<byte> b)
    {
        var nul = b.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul >= 0 ? b[..nul] : b);
    }
}

internal readonly struct KdumpSubHeader
{
    public const int Size = 104;

    public readonly ulong PhysBase;        // phys_base
    public readonly int DumpLevel;         // dump_level (v1+)
    public readonly int Split;             // split (v2+)
    public readonly ulong StartPfn;        // start_pfn (v2+, obsolete)
    public readonly ulong EndPfn;          // end_pfn (v2+, obsolete)
    public readonly long OffsetVmcoreinfo; // offset_vmcoreinfo (v3+)
    public readonly ulong SizeVmcoreinfo;  // size_vmcoreinfo (v3+)
    public readonly long OffsetNote;       // offset_note (v4+)
    public readonly ulong SizeNote;        // size_note (v4+)
    public readonly long OffsetEraseinfo;  // offset_eraseinfo (v5+)
    public readonly ulong SizeEraseinfo;   // size_eraseinfo (v5+)
    public readonly ulong StartPfn64;      // start_pfn_64 (v6+)
    public readonly ulong EndPfn64;        // end_pfn_64 (v6+)
    public readonly ulong MaxMapnr64;      // max_mapnr_64 (v6+)

    public KdumpSubHeader(ReadOnlySpan<byte> b)
    {
        PhysBase = BinaryPrimitives.ReadUInt64LittleEndian(b);
        DumpLevel = BinaryPrimitives.ReadInt32LittleEndian(b[8..]);
        Split = BinaryPrimitives.ReadInt32LittleEndian(b[12..]);
        StartPfn = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        EndPfn = BinaryPrimitives.ReadUInt64LittleEndian(b[24..]);
        OffsetVmcoreinfo = BinaryPrimitives.ReadInt64LittleEndian(b[32..]);
        SizeVmcoreinfo = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        OffsetNote = BinaryPrimitives.ReadInt64LittleEndian(b[48..]);
        SizeNote = BinaryPrimitives.ReadUInt64LittleEndian(b[56..]);
        OffsetEraseinfo = BinaryPrimitives.ReadInt64LittleEndian(b[64..]);
        SizeEraseinfo = BinaryPrimitives.ReadUInt64LittleEndian(b[72..]);
        StartPfn64 = BinaryPrimitives.ReadUInt64LittleEndian(b[80..]);
        EndPfn64 = BinaryPrimitives.ReadUInt64LittleEndian(b[88..]);
        MaxMapnr64 = BinaryPrimitives.ReadUInt64LittleEndian(b[96..]);
    }
}

internal readonly struct PageDesc
{
    public const int Size = 24;

    public readonly long Offset;     // offset (of the page data in the file)
    public readonly uint DataSize;   // size
    public readonly uint Flags;      // flags (compression method, 0 = raw)
    public readonly ulong PageFlags; // page_flags (unused by readers)

    public PageDesc(ReadOnlySpan<byte> b)
    {
        Offset = BinaryPrimitives.ReadInt64LittleEndian(b);
        DataSize = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        PageFlags = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
    }
}
