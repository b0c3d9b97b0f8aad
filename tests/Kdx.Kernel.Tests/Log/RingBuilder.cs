// Test scaffolding: writes a printk_ringbuffer the way kernel/printk/printk_ringbuffer.c does
// (ids and lpos starting just below wrap-around, blocks that do not fit at the end of the data
// ring stored at its start, the oldest records retired when space runs out), at offsets that a
// synthetic VMCOREINFO declares — deliberately not the real kernel's, so nothing can lean on them.
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Log;

public sealed class RingBuilder
{
    public const ulong PrbPointer = 0xffffffff83000000;
    public const ulong RingAt = 0xffffffff83001000;
    public const ulong DescsAt = 0xffffffff83100000;
    public const ulong InfosAt = 0xffffffff83200000;
    public const ulong DataAt = 0xffffffff83400000;

    // The synthetic layout (bytes).
    private const ulong DescRing = 8, TextRing = 80;
    private const ulong CountBits = 4, Descs = 8, Infos = 16, HeadId = 24, TailId = 32;
    private const ulong DescSize = 40, StateVar = 8, TextLpos = 16, Begin = 0, Next = 8;
    private const ulong SizeBits = 0, Data = 8, HeadLpos = 16, TailLpos = 24;
    private const ulong InfoSize = 104, Seq = 0, TsNsec = 8, TextLen = 16, Facility = 18, FlagsByte = 19, CallerId = 20, DevInfo = 32;
    private const ulong Subsystem = 0, Device = 16;

    private const ulong IdMask = ~(3UL << 62);
    private readonly int _countBits;
    private readonly int _sizeBits;
    private readonly ulong _count;
    private readonly ulong _size;
    private readonly Queue<(ulong Id, ulong Begin, ulong Next)> _live = new();
    private ulong _headId, _tailId, _headLpos, _tailLpos, _seq;

    public SparseMemory Memory { get; } = new();

    public RingBuilder(int countBits, int sizeBits)
    {
        _countBits = countBits;
        _sizeBits = sizeBits;
        _count = 1UL << countBits;
        _size = 1UL << sizeBits;
        Memory.Map(PrbPointer, 8);
        Memory.Map(RingAt, 128);
        Memory.Map(DescsAt, (int)(_count * DescSize));
        Memory.Map(InfosAt, (int)(_count * InfoSize));
        Memory.Map(DataAt, (int)_size);
        Memory.WriteU64(PrbPointer, RingAt);
        Memory.WriteU32(RingAt + DescRing + CountBits, (uint)countBits);
        Memory.WriteU64(RingAt + DescRing + Descs, DescsAt);
        Memory.WriteU64(RingAt + DescRing + Infos, InfosAt);
        Memory.WriteU32(RingAt + TextRing + SizeBits, (uint)sizeBits);
        Memory.WriteU64(RingAt + TextRing + Data, DataAt);
        // DESC0_ID and BLK0_LPOS: the first id and lpos sit just below wrap-around.
        _headId = _tailId = unchecked(0UL - (_count + 1)) & IdMask;
        _headLpos = _tailLpos = unchecked(0UL - _size);
        WriteDesc(_headId, 3, 1, 1); // the initial descriptor: reusable, no data (FAILED_LPOS)
        Sync();
    }

    /// <summary>Ids of the records still in the ring, oldest first.</summary>
    public IReadOnlyList<ulong> LiveIds => _live.Select(l => l.Id).ToList();

    public ulong Add(string text, ulong tsNsec, int level = 6, int facility = 0, uint caller = 1,
        string subsystem = "", string device = "", ulong state = 2)
    {
        var id = (_headId + 1) & IdMask;
        var bytes = Encoding.Latin1.GetBytes(text);
        var blockSize = (8 + (ulong)bytes.Length + 7) & ~7UL;
        var begin = _headLpos;
        var next = begin + blockSize;
        var wraps = begin / _size != next / _size;
        if (wraps)
            next = next / _size * _size + blockSize; // stored at the start of the next wrap
        // Retire records whose descriptor slot or data the new one needs.
        while (_live.Count > 0 && (next - _tailLpos > _size || id - _live.Peek().Id >= _count))
        {
            var old = _live.Dequeue();
            WriteState(old.Id, 3);
            _tailLpos = old.Next;
            _tailId = (old.Id + 1) & IdMask;
        }
        if (_live.Count == 0)
        {
            _tailLpos = wraps ? next - blockSize : begin;
            _tailId = id;
        }
        var index = wraps ? 0 : begin % _size;
        Memory.WriteU64(DataAt + index, id);
        Memory.Write(DataAt + index + 8, bytes);
        WriteDesc(id, state, begin, next);
        var info = InfosAt + (id % _count) * InfoSize;
        Memory.WriteU64(info + Seq, _seq++);
        Memory.WriteU64(info + TsNsec, tsNsec);
        Memory.WriteU16(info + TextLen, (ushort)bytes.Length);
        Memory.Write(info + Facility, [(byte)facility, (byte)(level << 5 | 0x04)]); // flags:5 (LOG_NEWLINE) then level:3
        Memory.WriteU32(info + CallerId, caller);
        Memory.Write(info + DevInfo, new byte[64]);
        Memory.WriteString(info + DevInfo + Subsystem, subsystem);
        Memory.WriteString(info + DevInfo + Device, device);
        _live.Enqueue((id, begin, next));
        _headId = id;
        _headLpos = next;
        Sync();
        return id;
    }

    /// <summary>A record without a data block: an empty line (lpos 3) or a failed write (lpos 1).</summary>
    public ulong AddDataless(ulong lpos, ulong tsNsec)
    {
        var id = (_headId + 1) & IdMask;
        WriteDesc(id, 2, lpos, lpos);
        var info = InfosAt + (id % _count) * InfoSize;
        Memory.WriteU64(info + Seq, _seq++);
        Memory.WriteU64(info + TsNsec, tsNsec);
        Memory.WriteU16(info + TextLen, 0);
        _headId = id;
        _live.Enqueue((id, _headLpos, _headLpos));
        Sync();
        return id;
    }

    public void WriteState(ulong id, ulong state) =>
        Memory.WriteU64(DescsAt + (id % _count) * DescSize + StateVar, (state << 62) | id);

    private void WriteDesc(ulong id, ulong state, ulong begin, ulong next)
    {
        var desc = DescsAt + (id % _count) * DescSize;
        WriteState(id, state);
        Memory.WriteU64(desc + TextLpos + Begin, begin);
        Memory.WriteU64(desc + TextLpos + Next, next);
    }

    private void Sync()
    {
        Memory.WriteU64(RingAt + DescRing + HeadId, _headId);
        Memory.WriteU64(RingAt + DescRing + TailId, _tailId);
        Memory.WriteU64(RingAt + TextRing + HeadLpos, _headLpos);
        Memory.WriteU64(RingAt + TextRing + TailLpos, _tailLpos);
    }

    /// <summary>The VMCOREINFO lines a kernel with this layout would write.</summary>
    public static VmcoreInfo Info() => VmcoreInfo.Parse($"""
        OSRELEASE=6.1.0-test
        SYMBOL(prb)={PrbPointer:x}
        OFFSET(printk_ringbuffer.desc_ring)={DescRing}
        OFFSET(printk_ringbuffer.text_data_ring)={TextRing}
        OFFSET(printk_ringbuffer.fail)=120
        OFFSET(prb_desc_ring.count_bits)={CountBits}
        OFFSET(prb_desc_ring.descs)={Descs}
        OFFSET(prb_desc_ring.infos)={Infos}
        OFFSET(prb_desc_ring.head_id)={HeadId}
        OFFSET(prb_desc_ring.tail_id)={TailId}
        SIZE(prb_desc)={DescSize}
        OFFSET(prb_desc.state_var)={StateVar}
        OFFSET(prb_desc.text_blk_lpos)={TextLpos}
        OFFSET(prb_data_blk_lpos.begin)={Begin}
        OFFSET(prb_data_blk_lpos.next)={Next}
        SIZE(printk_info)={InfoSize}
        OFFSET(printk_info.seq)={Seq}
        OFFSET(printk_info.ts_nsec)={TsNsec}
        OFFSET(printk_info.text_len)={TextLen}
        OFFSET(printk_info.caller_id)={CallerId}
        OFFSET(printk_info.dev_info)={DevInfo}
        OFFSET(dev_printk_info.subsystem)={Subsystem}
        OFFSET(dev_printk_info.device)={Device}
        OFFSET(prb_data_ring.size_bits)={SizeBits}
        OFFSET(prb_data_ring.data)={Data}
        OFFSET(prb_data_ring.head_lpos)={HeadLpos}
        OFFSET(prb_data_ring.tail_lpos)={TailLpos}
        OFFSET(atomic_long_t.counter)=0
        """.Replace("\r", ""));

    /// <summary>BTF for printk_info's facility byte and flags:5/level:3 bitfields, which VMCOREINFO never lists.</summary>
    public static BtfTypes Btf()
    {
        var b = new BtfBuilder();
        var u8 = b.Int("u8", 1, 8);
        var u16 = b.Int("u16", 2, 16);
        var u32 = b.Int("u32", 4, 32);
        var u64 = b.Int("u64", 8, 64);
        b.Struct("printk_info", (uint)InfoSize,
            ("seq", u64, 0, 0), ("ts_nsec", u64, 64, 0), ("text_len", u16, 128, 0), ("facility", u8, (uint)Facility * 8, 0),
            ("flags", u8, (uint)FlagsByte * 8, 5), ("level", u8, (uint)FlagsByte * 8 + 5, 3), ("caller_id", u32, (uint)CallerId * 8, 0));
        return BtfTypes.Parse(b.Build(), "printk btf");
    }
}
