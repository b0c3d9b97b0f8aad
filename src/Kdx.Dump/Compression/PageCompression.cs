// The per-page compression methods of kdump-compressed files (page_desc.flags, and the header's
// status bits that say which one a file uses), and one call to undo any of them.
using System.IO.Compression;

namespace Kdx.Dump.Compression;

[Flags]
public enum KdumpFlags : uint
{
    None = 0,
    Zlib = 0x1,                  // DUMP_DH_COMPRESSED_ZLIB
    Lzo = 0x2,                   // DUMP_DH_COMPRESSED_LZO
    Snappy = 0x4,                // DUMP_DH_COMPRESSED_SNAPPY
    Incomplete = 0x8,            // DUMP_DH_COMPRESSED_INCOMPLETE (status only)
    ExcludedVmemmap = 0x10,      // DUMP_DH_EXCLUDED_VMEMMAP (status only)
    Zstd = 0x20,                 // DUMP_DH_COMPRESSED_ZSTD
}

public static class PageCompression
{
    public const KdumpFlags MethodMask = KdumpFlags.Zlib | KdumpFlags.Lzo | KdumpFlags.Snappy | KdumpFlags.Zstd;

    [ThreadStatic]
    private static ZstdSharp.Decompressor? t_zstd;

    /// <summary>Names of the methods set in <paramref name="flags"/>, e.g. "zlib", or "none".</summary>
    public static string Describe(KdumpFlags flags)
    {
        var names = new List<string>();
        if (flags.HasFlag(KdumpFlags.Zlib)) names.Add("zlib");
        if (flags.HasFlag(KdumpFlags.Lzo)) names.Add("lzo");
        if (flags.HasFlag(KdumpFlags.Snappy)) names.Add("snappy");
        if (flags.HasFlag(KdumpFlags.Zstd)) names.Add("zstd");
        return names.Count == 0 ? "none" : string.Join("+", names);
    }

    /// <summary>
    /// Decompresses one page stored with <paramref name="method"/> so that it fills
    /// <paramref name="page"/> exactly; anything else is a <see cref="DumpFormatException"/> at
    /// <paramref name="offset"/> of <paramref name="file"/>.
    /// </summary>
    public static void DecompressPage(KdumpFlags method, ReadOnlySpan<byte> compressed, Span<byte> page, string file, long offset)
    {
        int n;
        string? problem = null;
        try
        {
            switch (method & MethodMask)
            {
                case KdumpFlags.None:
                    if (compressed.Length != page.Length)
                        problem = $"raw page is {compressed.Length} bytes, expected {page.Length}";
                    compressed[..Math.Min(compressed.Length, page.Length)].CopyTo(page);
                    n = compressed.Length;
                    break;
                case KdumpFlags.Zlib:
                    n = Zlib(compressed, page);
                    break;
                case KdumpFlags.Lzo:
                    var r = Lzo1x.Decompress(compressed, page, out n);
                    if (r != LzoResult.Ok)
                        problem = $"lzo1x data is corrupt ({r})";
                    break;
                case KdumpFlags.Snappy:
                    var len = Snappier.Snappy.GetUncompressedLength(compressed);
                    if (len != page.Length)
                        problem = $"snappy data would decompress to {len} bytes, expected {page.Length}";
                    n = problem is null ? Snappier.Snappy.Decompress(compressed, page) : 0;
                    break;
                case KdumpFlags.Zstd:
                    t_zstd ??= new ZstdSharp.Decompressor();
                    n = t_zstd.Unwrap(compressed, page);
                    break;
                default:
                    throw new DumpFormatException(file, offset, $"page compressed with several methods at once (flags 0x{(uint)method:x})");
            }
        }
        catch (DumpFormatException)
        {
            throw;
        }
        // What the decoders throw for bad data; zlib's own errors surface as ZLibException, an IOException.
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or ZstdSharp.ZstdException)
        {
            throw new DumpFormatException(file, offset, $"{Describe(method)} page data is corrupt: {e.Message}", e);
        }
        if (problem is null && n != page.Length)
            problem = $"{Describe(method)} page decompressed to {n} bytes, expected {page.Length}";
        if (problem is not null)
            throw new DumpFormatException(file, offset, problem);
    }

    // makedumpfile and QEMU use compress2(), so the data carries the zlib wrapper (RFC 1950).
    private static unsafe int Zlib(ReadOnlySpan<byte> compressed, Span<byte> page)
    {
        fixed (byte* p = compressed)
        {
            using var input = new UnmanagedMemoryStream(p, compressed.Length);
            using var z = new ZLibStream(input, CompressionMode.Decompress);
            var n = z.ReadAtLeast(page, page.Length, throwOnEndOfStream: false);
            Span<byte> extra = stackalloc byte[1];
            if (n == page.Length && z.Read(extra) != 0)
                return n + 1; // more data than a page: reported as a size mismatch
            return n;
        }
    }
}
