// Opening a dump: the format is recognised from the bytes (never the file name), flattened
// streams are indexed and read in place, and several files make a split set. Files that are not
// dumps are named for what they are, so the user knows what to do with them.
using Kdx.Dump.Formats.Elf;
using Kdx.Dump.Formats.Kdump;
using Kdx.Dump.IO;

namespace Kdx.Dump;

public enum ContainerKind
{
    Unknown,
    Empty,
    ElfCore,
    Elf,          // ELF but not a core
    Kdump,
    Flattened,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lz4,
    QemuSavevm,
    Diskdump,     // the old "DISKDUMP" format of Red Hat's diskdump
}

public static class DumpFile
{
    /// <summary>Opens one dump, or a split set when several paths are given.</summary>
    public static IDumpFile Open(params string[] paths)
    {
        if (paths.Length == 0)
            throw new ArgumentException("no dump file given", nameof(paths));
        if (paths.Length > DumpLimits.MaxSplitParts)
            throw new ArgumentException($"more than {DumpLimits.MaxSplitParts} files", nameof(paths));
        var sources = new List<IByteSource>();
        try
        {
            foreach (var p in paths)
                sources.Add(new MappedFileSource(p));
            return Open(sources);
        }
        catch
        {
            foreach (var s in sources)
                s.Dispose();
            throw;
        }
    }

    /// <summary>Opens dumps from byte sources (tests, fuzzing); the result owns them.</summary>
    public static IDumpFile Open(IReadOnlyList<IByteSource> sources)
    {
        if (sources.Count == 1)
            return OpenOne(sources[0]);
        var parts = new List<KdumpCompressedDump>();
        try
        {
            foreach (var s in sources)
            {
                var d = OpenOne(s);
                if (d is not KdumpCompressedDump k)
                {
                    d.Dispose();
                    throw new DumpFormatException(s.Name, 0, "several files were given, but only the parts of a kdump-compressed --split set can be read together");
                }
                parts.Add(k);
            }
            return SplitKdumpDump.Create(parts);
        }
        catch
        {
            foreach (var p in parts)
                p.Dispose();
            throw;
        }
    }

    /// <summary>Opens a single source; on failure the source is disposed.</summary>
    public static IDumpFile OpenOne(IByteSource source)
    {
        try
        {
            var kind = Detect(source);
            switch (kind)
            {
                case ContainerKind.ElfCore:
                    return ElfCoreDump.Open(source);
                case ContainerKind.Kdump:
                    return KdumpCompressedDump.Open(source);
                case ContainerKind.Flattened:
                    var flat = FlattenedSource.Open(source);
                    return Detect(flat) switch
                    {
                        ContainerKind.Kdump => KdumpCompressedDump.Open(flat, flattened: true, truncated: flat.Truncated),
                        ContainerKind.ElfCore => ElfCoreDump.Open(flat, flattened: true),
                        var inner => throw new DumpFormatException(source.Name, FlattenedSource.HeaderSize, $"flattened stream holds {Describe(inner)}, not a dump"),
                    };
                default:
                    throw new DumpFormatException(source.Name, 0, $"not a dump: {Describe(kind)}{Advice(kind)}");
            }
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>What the first bytes of a file say it is.</summary>
    public static ContainerKind Detect(IByteSource source)
    {
        Span<byte> head = stackalloc byte[64];
        var n = source.ReadAt(0, head);
        head = head[..n];
        if (n == 0)
            return ContainerKind.Empty;
        if (head.StartsWith("KDUMP   "u8))
            return ContainerKind.Kdump;
        if (head.StartsWith("DISKDUMP"u8))
            return ContainerKind.Diskdump;
        if (FlattenedSource.IsFlattened(head))
            return ContainerKind.Flattened;
        if (ElfConstants.HasMagic(head))
            return n >= 18 && head[5] == ElfConstants.ElfData2Lsb && head[16] == ElfConstants.EtCore && head[17] == 0
                || n >= 18 && head[5] == 2 && head[16] == 0 && head[17] == ElfConstants.EtCore
                ? ContainerKind.ElfCore
                : ContainerKind.Elf;
        if (head.StartsWith([(byte)0x1f, (byte)0x8b]))
            return ContainerKind.Gzip;
        if (head.StartsWith([(byte)0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', (byte)0]))
            return ContainerKind.Xz;
        if (head.StartsWith([(byte)0x28, (byte)0xb5, (byte)0x2f, (byte)0xfd]))
            return ContainerKind.Zstd;
        if (head.StartsWith("BZh"u8))
            return ContainerKind.Bzip2;
        if (head.StartsWith([(byte)0x04, (byte)0x22, (byte)0x4d, (byte)0x18]))
            return ContainerKind.Lz4;
        if (head.StartsWith("QEVM"u8))
            return ContainerKind.QemuSavevm;
        return ContainerKind.Unknown;
    }

    public static string Describe(ContainerKind kind) => kind switch
    {
        ContainerKind.Empty => "the file is empty",
        ContainerKind.ElfCore => "an ELF core",
        ContainerKind.Elf => "an ELF file that is not a core (a vmlinux, module or program?)",
        ContainerKind.Kdump => "a kdump-compressed dump",
        ContainerKind.Flattened => "a flattened dump",
        ContainerKind.Gzip => "a gzip-compressed file",
        ContainerKind.Xz => "an xz-compressed file",
        ContainerKind.Zstd => "a zstd-compressed file",
        ContainerKind.Bzip2 => "a bzip2-compressed file",
        ContainerKind.Lz4 => "an lz4-compressed file",
        ContainerKind.QemuSavevm => "a QEMU savevm/migration stream (QEVM), not a memory dump",
        ContainerKind.Diskdump => "an old diskdump (\"DISKDUMP\") file, which kdx does not read",
        _ => "unknown format",
    };

    private static string Advice(ContainerKind kind) => kind switch
    {
        ContainerKind.Gzip or ContainerKind.Xz or ContainerKind.Zstd or ContainerKind.Bzip2 or ContainerKind.Lz4 => "; decompress it first",
        ContainerKind.QemuSavevm => "; use dump-guest-memory to get a dump",
        _ => "",
    };
}
