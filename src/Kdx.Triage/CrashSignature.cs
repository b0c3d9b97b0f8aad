// The crash signature: the panic class and the first meaningful frames of the relevant backtrace,
// with offsets, addresses, PIDs and compiler suffixes (.cold, .isra.N, .constprop.N, .part.N)
// removed, so the same bug gives the same text and hash on every machine and boot (KASLR only
// moves addresses, which never enter it). Which backtrace and which frames, by class:
// - oops, bug, warn, soft/hard lockup, mce: the code the exception or interrupt stopped (the
//   frames after the innermost kernel pt_regs), else the panicking task's frames;
// - nmi: the NMI's source ("unknown", "serr", "iochk", "nmimgr") and the handler frames above the
//   interrupted code (which is whatever the CPU happened to run);
// - hung_task: the blocked task's frames below the scheduler/wait primitives;
// - sysrq, oom, other: the panicking task's frames.
// In every case generic panic, exception-entry, scheduler and syscall-entry frames are skipped.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Kdx.Triage;

public static partial class CrashSignatures
{
    /// <summary>Meaningful frames kept in a signature.</summary>
    public const int FrameCount = 4;

    /// <summary>Hex digits of the SHA-256 kept as the short hash.</summary>
    public const int HashLength = 12;

    /// <summary>Frames that are the machinery of panicking, reporting or entering the kernel, never the bug.</summary>
    private static readonly HashSet<string> Generic = new(StringComparer.Ordinal)
    {
        "panic", "delay_tsc", "__delay", "__const_udelay", "udelay", "mdelay", "nmi_panic", "vpanic",
        "dump_stack", "dump_stack_lvl", "show_stack", "show_trace_log_lvl", "dump_header", "_printk", "printk", "vprintk_emit",
        "__crash_kexec", "crash_kexec", "machine_kexec", "oops_end", "die", "__die", "die_body", "oops_begin",
        "page_fault_oops", "kernelmode_fixup_or_oops", "__bad_area_nosemaphore", "bad_area_nosemaphore", "no_context",
        "do_trap", "do_error_trap", "handle_bug", "report_bug", "__warn", "warn_slowpath_fmt", "check_panic_on_warn",
        "watchdog_timer_fn", "__hrtimer_run_queues", "hrtimer_interrupt", "__sysvec_apic_timer_interrupt",
        "watchdog_overflow_callback", "__perf_event_overflow", "perf_event_nmi_handler", "nmi_handle", "default_do_nmi",
        "end_repeat_nmi", "repeat_nmi", "first_nmi", "nested_nmi", "nmi_restore",
        "do_syscall_64", "ret_from_fork", "ret_from_fork_asm", "kthread", "start_kernel", "rest_init", "arch_call_rest_init",
        "cpu_startup_entry", "secondary_startup_64", "secondary_startup_64_no_verify", "common_startup_64", "start_secondary",
        "x86_64_start_kernel", "x86_64_start_reservations",
    };

    /// <summary>A blocked task's sleeping primitives: the caller below them is what waits.</summary>
    private static readonly HashSet<string> Sleeping = new(StringComparer.Ordinal)
    {
        "__schedule", "schedule", "schedule_timeout", "schedule_preempt_disabled", "io_schedule", "io_schedule_timeout",
        "schedule_hrtimeout_range_clock", "schedule_hrtimeout_range", "__wait_for_common", "wait_for_common",
        "wait_for_completion", "wait_for_completion_timeout", "wait_for_completion_killable", "wait_for_completion_io",
        "__mutex_lock", "__mutex_lock_slowpath", "mutex_lock", "rwsem_down_read_slowpath", "rwsem_down_write_slowpath",
        "down_read", "down_write", "down", "__down", "__down_common", "msleep", "usleep_range_state", "bit_wait_io",
        "__wait_on_bit", "out_of_line_wait_on_bit", "folio_wait_bit_common", "__folio_lock", "io_wait_event",
    };

    /// <summary>The allocator's own frames under out_of_memory: the path that needed the memory comes after.</summary>
    private static readonly HashSet<string> Allocator = new(StringComparer.Ordinal)
    {
        "out_of_memory", "__alloc_pages_slowpath", "__alloc_pages", "__folio_alloc", "alloc_pages", "alloc_pages_vma",
        "vma_alloc_folio", "__get_free_pages", "folio_alloc", "__alloc_pages_may_oom",
    };

    private static bool IsGeneric(string f) =>
        Generic.Contains(f) || f.StartsWith("asm_", StringComparison.Ordinal) || f.StartsWith("exc_", StringComparison.Ordinal)
        || f.StartsWith("sysvec_", StringComparison.Ordinal) || f.StartsWith("__sysvec_", StringComparison.Ordinal)
        || f.StartsWith("entry_SYSCALL", StringComparison.Ordinal) || f.StartsWith("native_", StringComparison.Ordinal) && f.Contains("halt", StringComparison.Ordinal);

    /// <summary>A function name without its compiler clone suffixes (.cold, .isra.0, .constprop.0, .part.0, .llvm.123).</summary>
    public static string Normalize(string function) => CloneSuffix().Replace(function, "");

    /// <summary>How a frame reads in a signature: its normalised function and [module]; "?" for an unnamed ip.</summary>
    public static string FrameText(ReportFrame f) => f.Function is null ? "?" : f.Module is null ? Normalize(f.Function) : $"{Normalize(f.Function)} [{f.Module}]";

    /// <summary>The signature of a classified panic.</summary>
    /// <param name="panic">The panicking task's backtrace (null when it could not be unwound).</param>
    /// <param name="blocked">For hung_task: the backtrace of the task the log names as blocked.</param>
    public static CrashSignature Of(PanicClassification c, ReportBacktrace? panic, ReportBacktrace? blocked)
    {
        IEnumerable<ReportFrame> frames = panic?.Frames ?? [];
        var head = new List<string> { PanicClassNames.Name(c.Class) };
        switch (c.Class)
        {
            case PanicClass.Oops or PanicClass.Bug or PanicClass.Warn or PanicClass.Softlockup or PanicClass.Hardlockup or PanicClass.Mce:
                frames = AfterException(frames);
                break;
            case PanicClass.Nmi:
                head.Add(c.Detail("source") ?? "unknown");
                frames = BeforeException(frames);
                break;
            case PanicClass.HungTask:
                frames = (blocked?.Frames ?? []).SkipWhile(f => f.Function is { } n && (Sleeping.Contains(Normalize(n)) || IsGeneric(Normalize(n))));
                break;
            case PanicClass.Oom:
                frames = frames.SkipWhile(f => f.Function is { } n && (IsGeneric(Normalize(n)) || Allocator.Contains(Normalize(n))));
                break;
        }
        var kept = new List<string>(FrameCount);
        foreach (var f in frames)
        {
            if (f.Stack == "user")
                break;
            if (f.Function is { } n && IsGeneric(Normalize(n)))
                continue;
            kept.Add(FrameText(f));
            if (kept.Count == FrameCount)
                break;
        }
        var text = string.Join(" | ", head.Concat(kept));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..HashLength];
        return new CrashSignature(text, kept, hash);
    }

    /// <summary>The frames after the innermost kernel-mode exception/interrupt registers: the code that was stopped.</summary>
    private static IEnumerable<ReportFrame> AfterException(IEnumerable<ReportFrame> frames)
    {
        var list = frames.ToList();
        var i = list.FindIndex(f => f.ExceptionIp is not null);
        return i < 0 ? list : list.Skip(i + 1);
    }

    private static IEnumerable<ReportFrame> BeforeException(IEnumerable<ReportFrame> frames) =>
        frames.TakeWhile(f => f.ExceptionIp is null);

    [GeneratedRegex(@"(\.(cold|isra|constprop|part|lto_priv|llvm|localalias)(\.\d+)?)+$")]
    private static partial Regex CloneSuffix();
}
