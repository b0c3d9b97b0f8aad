// An ORC table (vmlinux's, or one module's): the sorted place-relative ip array and the parallel
// orc_entry array, copied out of the dump once, and the kernel's lookup rule over them: the entry
// of the greatest ip at or below the address.
using System.Buffers.Binary;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Unwind;

public sealed class OrcTable
{
    /// <summary>Most entries accepted from one table (vmlinux 6.1 has ~400k).</summary>
    public const int MaxEntries = 8 << 20;

    private readonly ulong[] _ips;
    private readonly byte[] _entries;

    public OrcTable(string name, ulong[] ips, byte[] entries, OrcEntryLayout layout)
    {
        if (entries.Length != ips.Length * OrcEntryLayout.EntrySize)
            throw new ArgumentException("one orc_entry per ip", nameof(entries));
        Name = name;
        _ips = ips;
        _entries = entries;
        Layout = layout;
    }

    /// <summary>"vmlinux" or a module's name.</summary>
    public string Name { get; }

    public OrcEntryLayout Layout { get; }
    public int Count => _ips.Length;
    public ulong FirstIp => _ips.Length == 0 ? 0 : _ips[0];
    public ulong LastIp => _ips.Length == 0 ? 0 : _ips[^1];

    /// <summary>
    /// Reads <paramref name="count"/> s32 place-relative ips at <paramref name="ipTable"/> and the
    /// orc_entry array at <paramref name="entryTable"/>. The kernel sorts both at build time
    /// (vmlinux) or load time (modules); a table that is not sorted is not trusted.
    /// </summary>
    public static OrcTable Read(IKernelMemory memory, string name, ulong ipTable, ulong entryTable, long count, OrcEntryLayout layout)
    {
        if (count is < 0 or > MaxEntries)
            throw new InvalidDataException($"ORC table of {name}: {count} entries (limit {MaxEntries})");
        var n = (int)count;
        var raw = new byte[n * 4];
        memory.Read(ipTable, raw);
        var ips = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var rel = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 4));
            ips[i] = ipTable + (ulong)(i * 4) + (ulong)(long)rel;
            if (i > 0 && ips[i] < ips[i - 1])
                throw new InvalidDataException($"ORC table of {name}: ip[{i}] 0x{ips[i]:x} below ip[{i - 1}] 0x{ips[i - 1]:x} (not sorted)");
        }
        var entries = new byte[n * OrcEntryLayout.EntrySize];
        memory.Read(entryTable, entries);
        return new OrcTable(name, ips, entries, layout);
    }

    /// <summary>The entry covering <paramref name="ip"/>, or null below the first ip or past the table's end.</summary>
    public OrcEntry? Find(ulong ip)
    {
        if (_ips.Length == 0 || ip < _ips[0])
            return null;
        int lo = 0, hi = _ips.Length; // first index with _ips[i] > ip
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (_ips[mid] <= ip)
                lo = mid + 1;
            else
                hi = mid;
        }
        return Layout.Decode(_entries.AsSpan((lo - 1) * OrcEntryLayout.EntrySize, OrcEntryLayout.EntrySize));
    }
}
