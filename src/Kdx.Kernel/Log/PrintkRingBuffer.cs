// The lockless printk ring buffer (Linux 5.10+): a descriptor ring (state + text position per
// record), a parallel printk_info ring (seq, time, length, caller, device) and a text data ring
// whose blocks may wrap to its start. Every offset comes from VMCOREINFO or BTF.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Log;

public static class PrintkRingBuffer
{
    /// <summary>Largest descriptor ring accepted (2^count_bits records).</summary>
    public const int MaxCountBits = 22;

    /// <summary>Largest text data ring accepted (2^size_bits bytes).</summary>
    public const int MaxSizeBits = 28;

    // kernel/printk/printk_ringbuffer.h: state in the top two bits of state_var, id in the rest.
    private const int StateShift = 62;
    private const ulong IdMask = ~(3UL << StateShift);
    private const ulong StateCommitted = 1, StateFinalized = 2;
    private const ulong EmptyLineLpos = 3; // begin = next = EMPTY_LINE_LPOS: a valid empty record
    private const int BlockIdSize = 8; // each data block starts with the owning descriptor id (unsigned long)

    /// <summary>The field offsets this reader needs, gathered once.</summary>
    private sealed class Offsets(KernelLayout l)
    {
        public readonly ulong Counter = l.Offset("atomic_long_t", "counter") ?? 0; // atomic_long_t has one member
        public readonly ulong DescRing = l.RequireOffset("printk_ringbuffer", "desc_ring");
        public readonly ulong TextRing = l.RequireOffset("printk_ringbuffer", "text_data_ring");
        public readonly ulong CountBits = l.RequireOffset("prb_desc_ring", "count_bits");
        public readonly ulong Descs = l.RequireOffset("prb_desc_ring", "descs");
        public readonly ulong Infos = l.RequireOffset("prb_desc_ring", "infos");
        public readonly ulong HeadId = l.RequireOffset("prb_desc_ring", "head_id");
        public readonly ulong TailId = l.RequireOffset("prb_desc_ring", "tail_id");
        public readonly ulong DescSize = l.RequireSize("prb_desc");
        public readonly ulong StateVar = l.RequireOffset("prb_desc", "state_var");
        public readonly ulong TextLpos = l.RequireOffset("prb_desc", "text_blk_lpos");
        public readonly ulong Begin = l.RequireOffset("prb_data_blk_lpos", "begin");
        public readonly ulong Next = l.RequireOffset("prb_data_blk_lpos", "next");
        public readonly ulong SizeBits = l.RequireOffset("prb_data_ring", "size_bits");
        public readonly ulong Data = l.RequireOffset("prb_data_ring", "data");
        public readonly ulong InfoSize = l.RequireSize("printk_info");
        public readonly ulong Seq = l.RequireOffset("printk_info", "seq");
        public readonly ulong TsNsec = l.RequireOffset("printk_info", "ts_nsec");
        public readonly ulong TextLen = l.RequireOffset("printk_info", "text_len");
        public readonly ulong? CallerId = l.Offset("printk_info", "caller_id");
        public readonly ulong? DevInfo = l.Offset("printk_info", "dev_info");
        public readonly ulong? Subsystem = l.Offset("dev_printk_info", "subsystem");
        public readonly ulong? Device = l.Offset("dev_printk_info", "device");
        public readonly (ulong BitOffset, uint Bits)? Level = l.BitField("printk_info", "level");
        public readonly (ulong BitOffset, uint Bits)? Facility = l.BitField("printk_info", "facility");
    }

    public static IReadOnlyList<LogRecord> Read(IKernelMemory memory, KernelLayout layout)
    {
        var o = new Offsets(layout);
        var ring = memory.ReadPointer(layout.RequireSymbol("prb")); // prb is a pointer to the ring in use
        var descRing = ring + o.DescRing;
        var countBits = memory.ReadU32(descRing + o.CountBits);
        if (countBits > MaxCountBits)
            throw new DumpFormatException("printk", (long)(descRing + o.CountBits), $"prb_desc_ring.count_bits = {countBits} exceeds {MaxCountBits}");
        var count = 1UL << (int)countBits;
        if (o.DescSize == 0 || o.InfoSize == 0 || o.DescSize > 4096 || o.InfoSize > 4096)
            throw new DumpFormatException("VMCOREINFO", 0, $"implausible SIZE(prb_desc)={o.DescSize} or SIZE(printk_info)={o.InfoSize}");
        if (count * (o.DescSize + o.InfoSize) > 1UL << 30)
            throw new DumpFormatException("printk", (long)(descRing + o.CountBits), $"{count} descriptors of {o.DescSize}+{o.InfoSize} bytes exceed 1 GiB");
        var descs = memory.ReadBytes(memory.ReadPointer(descRing + o.Descs), (int)(count * o.DescSize));
        var infos = memory.ReadBytes(memory.ReadPointer(descRing + o.Infos), (int)(count * o.InfoSize));
        var headId = memory.ReadU64(descRing + o.HeadId + o.Counter);
        var tailId = memory.ReadU64(descRing + o.TailId + o.Counter);

        var textRing = ring + o.TextRing;
        var sizeBits = memory.ReadU32(textRing + o.SizeBits);
        if (sizeBits > MaxSizeBits || sizeBits < 4)
            throw new DumpFormatException("printk", (long)(textRing + o.SizeBits), $"prb_data_ring.size_bits = {sizeBits} outside 4..{MaxSizeBits}");
        var text = PagedBuffer.Read(memory, memory.ReadPointer(textRing + o.Data), 1 << (int)sizeBits);

        var records = new List<LogRecord>();
        // From the oldest id still described to the newest, inclusive; ids wrap within IdMask.
        // A sane ring never spans more than count ids; a corrupt one must not loop forever.
        var id = tailId & IdMask;
        for (var n = 0UL; n <= count; n++)
        {
            if (ReadRecord(o, descs, infos, text, count, id) is { } r)
                records.Add(r);
            if (id == (headId & IdMask))
                break;
            id = (id + 1) & IdMask;
        }
        return records;
    }

    private static LogRecord? ReadRecord(Offsets o, byte[] descs, byte[] infos, PagedBuffer text, ulong count, ulong id)
    {
        var slot = id & (count - 1);
        var desc = descs.AsSpan((int)(slot * o.DescSize), (int)o.DescSize);
        var stateVar = U64(desc, o.StateVar + o.Counter);
        if ((stateVar & IdMask) != id)
            return null; // the slot was reused for another record
        var state = stateVar >> StateShift;
        if (state != StateCommitted && state != StateFinalized)
            return null; // still being written, or already free
        var info = infos.AsSpan((int)(slot * o.InfoSize), (int)o.InfoSize);
        var textLen = U16(info, o.TextLen);
        var begin = U64(desc, o.TextLpos + o.Begin);
        var next = U64(desc, o.TextLpos + o.Next);

        var record = new LogRecord(
            Sequence: U64(info, o.Seq),
            TimestampNs: U64(info, o.TsNsec),
            Text: "",
            Level: RecordBits.Read(info, o.Level),
            Facility: RecordBits.Read(info, o.Facility),
            CallerId: o.CallerId is { } c ? U32(info, c) : null,
            Subsystem: DevString(info, o, o.Subsystem, o.Device),
            Device: DevString(info, o, o.Device, null));

        if ((begin & 1) != 0) // data-less: EMPTY_LINE_LPOS, or the writer failed (FAILED_LPOS)
            return record with { Dataless = true, TextMissing = !(begin == EmptyLineLpos && next == EmptyLineLpos) };

        var size = (ulong)text.Length;
        var b = begin & (size - 1);
        var e = next & (size - 1);
        if (b == e)
            return record with { Dataless = true };
        if (b > e)
            b = 0; // a wrapping block keeps its data at the start of the ring
        b += BlockIdSize;
        if (b > e)
            return record with { TextMissing = true }; // a block too short for its id: corrupt
        var length = (int)Math.Min(textLen, e - b);
        if (!text.Has((int)b, length))
            return record with { TextMissing = true };
        return record with { Text = Encoding.Latin1.GetString(text.Bytes.AsSpan((int)b, length)) };
    }

    private static string? DevString(ReadOnlySpan<byte> info, Offsets o, ulong? member, ulong? nextMember)
    {
        if (o.DevInfo is not { } dev || member is not { } m)
            return null;
        var start = dev + m;
        var end = nextMember is { } n ? dev + n : (ulong)info.Length;
        if (start >= (ulong)info.Length || end > (ulong)info.Length || end <= start)
            return null;
        var s = KernelMemoryExtensions.DecodeCString(info[(int)start..(int)end]);
        return s.Length == 0 ? null : s;
    }

    private static ushort U16(ReadOnlySpan<byte> s, ulong at) => BinaryPrimitives.ReadUInt16LittleEndian(Field(s, at, 2));
    private static uint U32(ReadOnlySpan<byte> s, ulong at) => BinaryPrimitives.ReadUInt32LittleEndian(Field(s, at, 4));
    private static ulong U64(ReadOnlySpan<byte> s, ulong at) => BinaryPrimitives.ReadUInt64LittleEndian(Field(s, at, 8));

    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> record, ulong at, int size) =>
        at + (ulong)size <= (ulong)record.Length
            ? record.Slice((int)at, size)
            : throw new DumpFormatException("VMCOREINFO", 0, $"field at offset {at} (+{size}) lies outside a {record.Length}-byte record");
}
