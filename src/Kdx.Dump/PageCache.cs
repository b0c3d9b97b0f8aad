// A small direct-mapped cache of decompressed pages, so reading a structure byte by byte, or
// walking page tables, does not decompress the same page again and again. Buffers are allocated
// once; a miss decompresses straight into the slot.
namespace Kdx.Dump;

internal sealed class PageCache
{
    public delegate void PageLoader(ulong pfn, Span<byte> page);

    private readonly object _lock = new();
    private readonly ulong[] _tags; // pfn + 1, 0 = empty
    private readonly byte[] _pages;
    private readonly int _pageSize;

    public PageCache(int pageSize, int slots = 256)
    {
        _pageSize = pageSize;
        _tags = new ulong[slots];
        _pages = new byte[(long)slots * pageSize];
    }

    public void Read(ulong pfn, int offsetInPage, Span<byte> destination, PageLoader loader)
    {
        var slot = (int)(pfn % (ulong)_tags.Length);
        lock (_lock)
        {
            var page = _pages.AsSpan(slot * _pageSize, _pageSize);
            if (_tags[slot] != pfn + 1)
            {
                _tags[slot] = 0;
                loader(pfn, page);
                _tags[slot] = pfn + 1;
            }
            page.Slice(offsetInPage, destination.Length).CopyTo(destination);
        }
    }
}
