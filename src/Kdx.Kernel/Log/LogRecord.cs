// One kernel log record, whichever buffer layout it came from.
namespace Kdx.Kernel.Log;

/// <summary>Which printk buffer the kernel used.</summary>
public enum LogBufferKind
{
    /// <summary>5.10+: the lockless printk_ringbuffer (descriptor ring + text data ring).</summary>
    LocklessRing,
    /// <summary>3.5–5.9: variable-length struct printk_log records in log_buf.</summary>
    Structured,
    /// <summary>Before 3.5: plain text in log_buf.</summary>
    Plain,
}

/// <summary>
/// A log record. <see cref="Text"/> holds the record's bytes one char per byte (Latin-1), possibly
/// several lines. <see cref="Level"/>, <see cref="Facility"/> and <see cref="CallerId"/> are null
/// when the dump does not say (level and facility need BTF for the bitfield layout).
/// </summary>
public sealed record LogRecord(
    ulong Sequence,
    ulong TimestampNs,
    string Text,
    int? Level = null,
    int? Facility = null,
    uint? CallerId = null,
    string? Subsystem = null,
    string? Device = null)
{
    /// <summary>The record has no data block (an empty line, or text the writer failed to store).</summary>
    public bool Dataless { get; init; }

    /// <summary>The text block lies in a page the dump does not hold.</summary>
    public bool TextMissing { get; init; }

    /// <summary>Plain (pre-3.5) logs: the line exactly as log_buf holds it, level and time prefixes included.</summary>
    public string? Raw { get; init; }

    /// <summary>Bit 31 of caller_id marks a CPU number, else it is a thread id.</summary>
    public bool CallerIsCpu => CallerId is { } c && (c & 0x80000000) != 0;

    /// <summary>Caller as printk shows it: "T123" for a thread, "C1" for a CPU.</summary>
    public string? Caller => CallerId is { } c ? ((c & 0x80000000) != 0 ? "C" : "T") + (c & 0x7fffffff) : null;
}
