// Typed little-endian reads through IKernelMemory (x86_64 is the only dumped architecture so far),
// so callers read "a u64 at this vaddr" instead of juggling byte spans.
using System.Buffers.Binary;
using System.Text;

namespace Kdx.Kernel.Memory;

public static class KernelMemoryExtensions
{
    public static byte ReadU8(this IKernelMemory memory, ulong vaddr)
    {
        Span<byte> b = stackalloc byte[1];
        memory.Read(vaddr, b);
        return b[0];
    }

    public static ushort ReadU16(this IKernelMemory memory, ulong vaddr)
    {
        Span<byte> b = stackalloc byte[2];
        memory.Read(vaddr, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    public static uint ReadU32(this IKernelMemory memory, ulong vaddr)
    {
        Span<byte> b = stackalloc byte[4];
        memory.Read(vaddr, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static int ReadS32(this IKernelMemory memory, ulong vaddr) => (int)memory.ReadU32(vaddr);

    public static ulong ReadU64(this IKernelMemory memory, ulong vaddr)
    {
        Span<byte> b = stackalloc byte[8];
        memory.Read(vaddr, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    /// <summary>A kernel pointer (x86_64: 8 bytes).</summary>
    public static ulong ReadPointer(this IKernelMemory memory, ulong vaddr) => memory.ReadU64(vaddr);

    public static byte[] ReadBytes(this IKernelMemory memory, ulong vaddr, int count)
    {
        var buffer = new byte[count];
        memory.Read(vaddr, buffer);
        return buffer;
    }

    /// <summary>
    /// Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes (a fixed
    /// char array such as task_struct.comm, or a bounded pointer target); no NUL means the whole
    /// field is the string.
    /// </summary>
    public static string ReadCString(this IKernelMemory memory, ulong vaddr, int maxLength)
    {
        var buffer = maxLength <= 256 ? stackalloc byte[maxLength] : new byte[maxLength];
        memory.Read(vaddr, buffer);
        return DecodeCString(buffer);
    }

    /// <summary>Decodes bytes up to the first NUL as Latin-1 (kernel strings are bytes, not UTF-8 text).</summary>
    public static string DecodeCString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end >= 0 ? field[..end] : field);
    }
}
