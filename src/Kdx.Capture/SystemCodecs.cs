// The system's own zlib (libz.so.1) and LZO (liblzo2.so.2), when the machine has them — the
// libraries makedumpfile itself is linked with, so every kdump initramfs that can run makedumpfile
// has them. Through them kdx writes byte for byte the pages makedumpfile writes (zlib at
// Z_BEST_SPEED with the default window and memory level, as compress2 does; LZO1X-1), at the
// same speed per page. Without them PageCompressor falls back to .NET's zlib and kdx's own LZO.
// One deflate state per worker is reset for every page instead of being set up again: deflateInit
// allocates and clears several hundred KiB, more work than compressing a 4 KiB page.
using System.Runtime.InteropServices;

namespace Kdx.Capture;

internal static unsafe class SystemCodecs
{
    private const int ZBestSpeed = 1, ZDeflated = 8, ZMaxWindowBits = 15, ZDefaultMemLevel = 8, ZDefaultStrategy = 0;
    private const int ZFinish = 4, ZOk = 0, ZStreamEnd = 1;
    /// <summary>Work memory lzo1x_1_compress needs (LZO1X_1_MEM_COMPRESS is 64 KiB at most on 64-bit builds).</summary>
    public const int LzoWorkMemory = 128 << 10;

    private static readonly delegate* unmanaged<ZStream*, int, int, int, int, int, byte*, int, int> s_deflateInit2;
    private static readonly delegate* unmanaged<ZStream*, int> s_deflateReset;
    private static readonly delegate* unmanaged<ZStream*, int, int> s_deflate;
    private static readonly delegate* unmanaged<ZStream*, int> s_deflateEnd;
    private static readonly delegate* unmanaged<byte*, nuint, byte*, nuint*, void*, int> s_lzo1x1;

    static SystemCodecs()
    {
        if (NativeLibrary.TryLoad("libz.so.1", out var z)
            && NativeLibrary.TryGetExport(z, "deflateInit2_", out var init)
            && NativeLibrary.TryGetExport(z, "deflateReset", out var reset)
            && NativeLibrary.TryGetExport(z, "deflate", out var deflate)
            && NativeLibrary.TryGetExport(z, "deflateEnd", out var end))
        {
            s_deflateInit2 = (delegate* unmanaged<ZStream*, int, int, int, int, int, byte*, int, int>)init;
            s_deflateReset = (delegate* unmanaged<ZStream*, int>)reset;
            s_deflate = (delegate* unmanaged<ZStream*, int, int>)deflate;
            s_deflateEnd = (delegate* unmanaged<ZStream*, int>)end;
        }
        if (NativeLibrary.TryLoad("liblzo2.so.2", out var lzo) && NativeLibrary.TryGetExport(lzo, "lzo1x_1_compress", out var c))
            s_lzo1x1 = (delegate* unmanaged<byte*, nuint, byte*, nuint*, void*, int>)c;
    }

    public static bool HasZlib => s_deflateInit2 != null;
    public static bool HasLzo => s_lzo1x1 != null;

    // zlib's z_stream on LP64.
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public nuint TotalOut;
        public byte* Msg;
        public void* State;
        public void* ZAlloc, ZFree, Opaque;
        public int DataType;
        public nuint Adler;
        public nuint Reserved;
    }

    /// <summary>A zlib deflate state for one worker: each page is a complete zlib stream, as compress2 makes it.</summary>
    public sealed class Deflater : IDisposable
    {
        private ZStream* _z;

        public Deflater()
        {
            if (!HasZlib)
                throw new InvalidOperationException("libz.so.1 is not available");
            _z = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
            var version = stackalloc byte[] { (byte)'1', (byte)'.', (byte)'2', 0 }; // zlib checks the major version only
            var r = s_deflateInit2(_z, ZBestSpeed, ZDeflated, ZMaxWindowBits, ZDefaultMemLevel, ZDefaultStrategy, version, sizeof(ZStream));
            if (r != ZOk)
            {
                NativeMemory.Free(_z);
                _z = null;
                throw new InvalidOperationException($"zlib deflateInit2 failed ({r})");
            }
        }

        /// <summary>Compresses <paramref name="page"/>; int.MaxValue when the output does not fit.</summary>
        public int Compress(ReadOnlySpan<byte> page, Span<byte> output)
        {
            ObjectDisposedException.ThrowIf(_z is null, this);
            s_deflateReset(_z);
            fixed (byte* i = page)
            fixed (byte* o = output)
            {
                _z->NextIn = i;
                _z->AvailIn = (uint)page.Length;
                _z->NextOut = o;
                _z->AvailOut = (uint)output.Length;
                var r = s_deflate(_z, ZFinish);
                _z->NextIn = _z->NextOut = null;
                return r == ZStreamEnd ? (int)_z->TotalOut : int.MaxValue;
            }
        }

        public void Dispose()
        {
            if (_z is null)
                return;
            s_deflateEnd(_z);
            NativeMemory.Free(_z);
            _z = null;
        }
    }

    /// <summary>LZO1X-1 through liblzo2; <paramref name="work"/> is LzoWorkMemory bytes owned by the caller.</summary>
    public static int Lzo1x1(ReadOnlySpan<byte> page, Span<byte> output, Span<byte> work)
    {
        if (!HasLzo)
            throw new InvalidOperationException("liblzo2.so.2 is not available");
        if (work.Length < LzoWorkMemory || output.Length < page.Length + page.Length / 16 + 64 + 3)
            throw new ArgumentException("LZO needs LzoWorkMemory bytes of work memory and room for the worst case");
        fixed (byte* i = page)
        fixed (byte* o = output)
        fixed (byte* w = work)
        {
            nuint n = 0;
            var r = s_lzo1x1(i, (nuint)page.Length, o, &n, w);
            return r == 0 ? (int)n : int.MaxValue;
        }
    }
}
