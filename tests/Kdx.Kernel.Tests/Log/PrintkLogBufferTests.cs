// The pre-5.10 logs: struct printk_log records in log_buf (with the zero-length wrap marker) and
// plain pre-3.5 text, laid out in memory as those kernels did, at offsets from a synthetic VMCOREINFO.
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Log;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Log;

public class PrintkLogBufferTests
{
    private const ulong Vars = 0xffffffff82800000;
    private const ulong LogBufPtr = Vars, LogBufLen = Vars + 8, FirstIdx = Vars + 16, NextIdx = Vars + 24, LogEnd = Vars + 32;
    private const ulong Buffer = 0xffff888000100000;
    private const int Header = 24; // SIZE(printk_log) chosen unlike the real 16, with caller_id at 20

    private static VmcoreInfo StructuredInfo() => VmcoreInfo.Parse(
        $"SYMBOL(log_buf)={LogBufPtr:x}\nSYMBOL(log_buf_len)={LogBufLen:x}\nSYMBOL(log_first_idx)={FirstIdx:x}\n" +
        $"SYMBOL(log_next_idx)={NextIdx:x}\nSIZE(printk_log)={Header}\nOFFSET(printk_log.ts_nsec)=0\n" +
        "OFFSET(printk_log.len)=8\nOFFSET(printk_log.text_len)=10\n");

    private static BtfTypes StructuredBtf()
    {
        var b = new BtfBuilder();
        var u8 = b.Int("u8", 1, 8);
        var u16 = b.Int("u16", 2, 16);
        var u32 = b.Int("u32", 4, 32);
        var u64 = b.Int("u64", 8, 64);
        b.Struct("printk_log", Header, ("ts_nsec", u64, 0, 0), ("len", u16, 64, 0), ("text_len", u16, 80, 0), ("dict_len", u16, 96, 0),
            ("facility", u8, 112, 0), ("flags", u8, 120, 5), ("level", u8, 125, 3), ("caller_id", u32, 160, 0));
        return BtfTypes.Parse(b.Build(), "printk_log btf");
    }

    /// <summary>Writes records as log_store() did: 8-byte aligned, wrapping to 0 behind a zero-length header when the end is too short.</summary>
    private static (SparseMemory Memory, uint Next) Structured(int bufferLength, uint first, params (string Text, ulong Ts, int Level)[] records)
    {
        var memory = new SparseMemory();
        memory.Map(Vars, 64);
        memory.Map(Buffer, bufferLength);
        memory.WriteU64(LogBufPtr, Buffer);
        memory.WriteU32(LogBufLen, (uint)bufferLength);
        var idx = first;
        foreach (var (text, ts, level) in records)
        {
            var size = (uint)((Header + text.Length + 7) & ~7);
            if (idx + size + Header > bufferLength)
            {
                memory.WriteU16(Buffer + idx + 8, 0); // wrap marker
                idx = 0;
            }
            memory.WriteU64(Buffer + idx, ts);
            memory.WriteU16(Buffer + idx + 8, (ushort)size);
            memory.WriteU16(Buffer + idx + 10, (ushort)text.Length);
            memory.Write(Buffer + idx + 14, [3, (byte)(level << 5)]);
            memory.WriteU32(Buffer + idx + 20, 42);
            memory.WriteString(Buffer + idx + Header, text);
            idx += size;
        }
        memory.WriteU32(FirstIdx, first);
        memory.WriteU32(NextIdx, idx);
        return (memory, idx);
    }

    [Fact]
    public void StructuredRecordsReadInOrderAcrossTheWrap()
    {
        var (memory, _) = Structured(256, 120,
            ("first record", 1_000_000, 6), ("second record", 2_000_000, 4), ("third\nwith two lines", 3_000_000, 3)); // the third no longer fits at the end: stored at 0
        var log = KernelLog.Read(memory, new KernelLayout(StructuredInfo(), StructuredBtf()));
        Assert.Equal(LogBufferKind.Structured, log.Kind);
        Assert.Equal(["first record", "second record", "third\nwith two lines"], log.Records.Select(r => r.Text));
        Assert.Equal([6, 4, 3], log.Records.Select(r => r.Level!.Value));
        Assert.All(log.Records, r => Assert.Equal(3, r.Facility));
        Assert.All(log.Records, r => Assert.Equal(42u, r.CallerId));
        Assert.Equal(
            "[    0.001000] first record\n[    0.002000] second record\n[    0.003000] third\n               with two lines\n",
            LogFormatter.Format(log.Records));
    }

    [Fact]
    public void StructuredWithoutBtfHasNoLevel()
    {
        var (memory, _) = Structured(256, 0, ("only", 5, 6));
        var r = Assert.Single(KernelLog.Read(memory, new KernelLayout(StructuredInfo())).Records);
        Assert.Null(r.Level);
        Assert.Null(r.CallerId);
        Assert.Equal("only", r.Text);
    }

    [Fact]
    public void StructuredCorruptLengthsAreFormatErrors()
    {
        var (memory, _) = Structured(256, 0, ("a", 1, 6), ("b", 2, 6));
        memory.WriteU16(Buffer + 8, 3); // shorter than the header
        Assert.Contains("length 3", Assert.Throws<DumpFormatException>(() => KernelLog.Read(memory, new KernelLayout(StructuredInfo()))).Problem);

        (memory, _) = Structured(256, 0, ("a", 1, 6));
        memory.WriteU32(LogBufLen, 0x7fff_ffff);
        Assert.Contains("log_buf_len", Assert.Throws<DumpFormatException>(() => KernelLog.Read(memory, new KernelLayout(StructuredInfo()))).Problem);
    }

    [Fact]
    public void StructuredZeroLengthEverywhereStops()
    {
        var (memory, _) = Structured(256, 0, ("a", 1, 6));
        memory.WriteU16(Buffer + 8, 0);
        memory.WriteU32(NextIdx, 200); // never reached: the loop must end anyway
        Assert.Empty(KernelLog.Read(memory, new KernelLayout(StructuredInfo())).Records);
    }

    [Fact]
    public void PlainTextLogWrapsAtLogEnd()
    {
        var memory = new SparseMemory();
        memory.Map(Vars, 64);
        var text = "<6>[    0.000000] Linux version 2.6.32\n<4>[    1.500000] warning here\n";
        var buffer = new byte[64];
        // log_end = 100: the newest 64 bytes, the write position at 100 % 64 = 36
        var full = Encoding.Latin1.GetBytes(text.PadLeft(100, 'x'));
        for (var i = 0; i < 100; i++)
            buffer[i % 64] = full[i];
        memory.Map(Buffer, buffer);
        memory.WriteU64(LogBufPtr, Buffer);
        memory.WriteU32(LogBufLen, 64);
        memory.WriteU32(LogEnd, 100);
        var info = VmcoreInfo.Parse($"SYMBOL(log_buf)={LogBufPtr:x}\nSYMBOL(log_buf_len)={LogBufLen:x}\nSYMBOL(log_end)={LogEnd:x}\n");
        var log = KernelLog.Read(memory, new KernelLayout(info));
        Assert.Equal(LogBufferKind.Plain, log.Kind);
        var last = log.Records[^1];
        Assert.Equal(4, last.Level);
        Assert.Equal(1_500_000_000UL, last.TimestampNs);
        Assert.Equal("warning here", last.Text);
        Assert.EndsWith("<4>[    1.500000] warning here\n", LogFormatter.Format(log.Records));
    }
}
