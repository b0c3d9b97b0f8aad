// The kernel log before the lockless ring: struct printk_log records in log_buf (3.5–5.9), or
// plain "<level>[time] text" lines in log_buf (before 3.5).
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Log;

public static class PrintkLogBuffer
{
    /// <summary>Largest log_buf accepted (log_buf_len= is capped far below this in practice).</summary>
    public const uint MaxLength = 1u << 28;

    public static IReadOnlyList<LogRecord> ReadStructured(IKernelMemory memory, KernelLayout layout)
    {
        var (buffer, bufAt) = ReadLogBuf(memory, layout);
        var first = memory.ReadU32(layout.RequireSymbol("log_first_idx"));
        var next = memory.ReadU32(layout.RequireSymbol("log_next_idx"));
        var header = layout.RequireSize("printk_log");
        var tsAt = layout.RequireOffset("printk_log", "ts_nsec");
        var lenAt = layout.RequireOffset("printk_log", "len");
        var textLenAt = layout.RequireOffset("printk_log", "text_len");
        var callerAt = layout.Offset("printk_log", "caller_id");
        var level = layout.BitField("printk_log", "level");
        var facility = layout.Offset("printk_log", "facility");
        if (header < 16 || header > 256 || lenAt + 2 > header || textLenAt + 2 > header || tsAt + 8 > header)
            throw new DumpFormatException("VMCOREINFO", 0, $"implausible printk_log layout (SIZE {header})");

        var records = new List<LogRecord>();
        var idx = first;
        ulong seq = 0;
        // Each record is at least a header long, so the buffer holds at most length/header of them.
        for (var guard = buffer.Length / (long)header + 2; guard > 0 && idx != next; guard--)
        {
            if (idx + header > (ulong)buffer.Length)
                throw new DumpFormatException("printk", (long)(bufAt + idx), $"printk_log record at index {idx} runs past log_buf");
            var rec = buffer.AsSpan((int)idx);
            var len = BinaryPrimitives.ReadUInt16LittleEndian(rec[(int)lenAt..]);
            if (len == 0)
            {
                // A zero length marks the wrap: the next record is at the start of the buffer.
                if (idx == 0)
                    break;
                idx = 0;
                continue;
            }
            if (len < header || idx + len > (ulong)buffer.Length)
                throw new DumpFormatException("printk", (long)(bufAt + idx), $"printk_log record at index {idx} has length {len}");
            var textLen = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(rec[(int)textLenAt..]), (ushort)(len - header));
            records.Add(new LogRecord(
                Sequence: seq++,
                TimestampNs: BinaryPrimitives.ReadUInt64LittleEndian(rec[(int)tsAt..]),
                Text: Encoding.Latin1.GetString(rec.Slice((int)header, textLen)),
                Level: RecordBits.Read(rec[..(int)header], level),
                Facility: facility is { } f && f < header ? rec[(int)f] : null,
                CallerId: callerAt is { } c && c + 4 <= header ? BinaryPrimitives.ReadUInt32LittleEndian(rec[(int)c..]) : null));
            idx += len;
        }
        return records;
    }

    public static IReadOnlyList<LogRecord> ReadPlain(IKernelMemory memory, KernelLayout layout)
    {
        var (buffer, _) = ReadLogBuf(memory, layout);
        var end = memory.ReadU32(layout.RequireSymbol("log_end")); // free-running write position
        var length = (uint)buffer.Length;
        string text;
        if (end <= length)
            text = Encoding.Latin1.GetString(buffer.AsSpan(0, (int)end));
        else
        {
            var at = (int)(end % length);
            text = Encoding.Latin1.GetString(buffer.AsSpan(at)) + Encoding.Latin1.GetString(buffer.AsSpan(0, at));
        }
        var records = new List<LogRecord>();
        ulong seq = 0;
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0)
                continue;
            var line = raw.AsSpan();
            int? level = null;
            if (line.Length >= 3 && line[0] == '<' && line[2] == '>' && char.IsAsciiDigit(line[1]))
            {
                level = line[1] - '0';
                line = line[3..];
            }
            ulong ts = 0;
            if (line.Length > 0 && line[0] == '[' && line.IndexOf(']') is var close and > 0
                && decimal.TryParse(line[1..close].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
            {
                ts = (ulong)(seconds * 1_000_000_000m);
                line = line[(close + 1)..].TrimStart(' ');
            }
            records.Add(new LogRecord(seq++, ts, line.ToString(), level) { Raw = raw });
        }
        return records;
    }

    private static (byte[] Buffer, ulong Address) ReadLogBuf(IKernelMemory memory, KernelLayout layout)
    {
        var bufAt = memory.ReadPointer(layout.RequireSymbol("log_buf")); // log_buf is a char *
        var length = memory.ReadU32(layout.RequireSymbol("log_buf_len"));
        if (length == 0 || length > MaxLength)
            throw new DumpFormatException("printk", 0, $"log_buf_len = {length} is outside 1..{MaxLength}");
        return (memory.ReadBytes(bufAt, (int)length), bufAt);
    }
}
