// Test scaffolding: a kernel address space made of byte arrays placed at chosen addresses;
// reading outside every region reports a hole, as a dump would for a page it lacks.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Tests.Support;

public sealed class SparseMemory : IKernelMemory
{
    private readonly List<(ulong At, byte[] Bytes)> _regions = [];

    public int Reads { get; private set; }

    public byte[] Map(ulong at, int length)
    {
        var bytes = new byte[length];
        _regions.Add((at, bytes));
        return bytes;
    }

    public void Map(ulong at, byte[] bytes) => _regions.Add((at, bytes));

    /// <summary>An independent copy, for tests that damage memory built once.</summary>
    public SparseMemory Clone()
    {
        var copy = new SparseMemory();
        foreach (var (at, bytes) in _regions)
            copy.Map(at, (byte[])bytes.Clone());
        return copy;
    }

    public void Read(ulong vaddr, Span<byte> destination)
    {
        Reads++;
        while (destination.Length > 0)
        {
            var hit = false;
            foreach (var (at, bytes) in _regions)
            {
                if (vaddr < at || vaddr - at >= (ulong)bytes.Length)
                    continue;
                var n = (int)Math.Min((ulong)destination.Length, (ulong)bytes.Length - (vaddr - at));
                bytes.AsSpan((int)(vaddr - at), n).CopyTo(destination);
                destination = destination[n..];
                vaddr += (ulong)n;
                hit = true;
                break;
            }
            if (!hit)
                throw new PageNotInDumpException(vaddr, PageAbsence.Hole);
        }
    }

    public void WriteU16(ulong at, ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); Write(at, b); }
    public void WriteU32(ulong at, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); Write(at, b); }
    public void WriteU64(ulong at, ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); Write(at, b); }
    public void WriteString(ulong at, string s) => Write(at, Encoding.Latin1.GetBytes(s));

    public void Write(ulong at, ReadOnlySpan<byte> data)
    {
        foreach (var (start, bytes) in _regions)
        {
            if (at >= start && at - start + (ulong)data.Length <= (ulong)bytes.Length)
            {
                data.CopyTo(bytes.AsSpan((int)(at - start)));
                return;
            }
        }
        throw new InvalidOperationException($"test memory: 0x{at:x}+{data.Length} is not inside one mapped region");
    }
}
