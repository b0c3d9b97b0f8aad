// The kernel log of a dump: picks the buffer layout the kernel used from VMCOREINFO and reads
// every record it still holds.
using Kdx.Dump;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Log;

public sealed class KernelLog
{
    private KernelLog(LogBufferKind kind, IReadOnlyList<LogRecord> records)
    {
        Kind = kind;
        Records = records;
    }

    public LogBufferKind Kind { get; }
    public IReadOnlyList<LogRecord> Records { get; }

    public static KernelLog Read(IKernelMemory memory, KernelLayout layout)
    {
        var vi = layout.VmcoreInfo;
        if (vi.Symbol("prb") is not null)
            return new KernelLog(LogBufferKind.LocklessRing, PrintkRingBuffer.Read(memory, layout));
        if (vi.Symbol("log_buf") is not null && vi.Size("printk_log") is not null)
            return new KernelLog(LogBufferKind.Structured, PrintkLogBuffer.ReadStructured(memory, layout));
        if (vi.Symbol("log_buf") is not null)
            return new KernelLog(LogBufferKind.Plain, PrintkLogBuffer.ReadPlain(memory, layout));
        throw new DumpFormatException("VMCOREINFO", 0, "no SYMBOL(prb) or SYMBOL(log_buf): cannot find the kernel log");
    }
}
