// A large kernel buffer read page by page, remembering which pages the dump did not hold so
// that one excluded page costs only the records inside it.
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Log;

internal sealed class PagedBuffer
{
    private const int PageSize = 4096;
    private readonly bool[] _missing;

    private readonly ulong _start;

    private PagedBuffer(ulong start, byte[] bytes, bool[] missing)
    {
        _start = start;
        Bytes = bytes;
        _missing = missing;
    }

    public byte[] Bytes { get; }
    public int Length => Bytes.Length;

    public static PagedBuffer Read(IKernelMemory memory, ulong vaddr, int length)
    {
        var bytes = new byte[length];
        var missing = new bool[(int)(((vaddr & (PageSize - 1)) + (ulong)length + PageSize - 1) / PageSize)];
        var done = 0;
        var page = 0;
        while (done < length)
        {
            var chunk = (int)Math.Min((ulong)(length - done), PageSize - ((vaddr + (ulong)done) & (PageSize - 1)));
            try
            {
                memory.Read(vaddr + (ulong)done, bytes.AsSpan(done, chunk));
            }
            catch (PageNotInDumpException)
            {
                missing[page] = true;
            }
            done += chunk;
            page++;
        }
        return new PagedBuffer(vaddr, bytes, missing);
    }

    /// <summary>True when every byte of [offset, offset+length) was read from the dump.</summary>
    public bool Has(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Bytes.Length)
            return false;
        var skew = (int)(_start & (PageSize - 1));
        var last = length == 0 ? offset : offset + length - 1;
        for (var p = (offset + skew) / PageSize; p <= (last + skew) / PageSize; p++)
            if (_missing[p])
                return false;
        return true;
    }
}
