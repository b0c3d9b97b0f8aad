using Kdx.Lab;

namespace Kdx.Lab.Tests;

public class PanicPatternTests
{
    [Theory]
    [InlineData(CrashKind.Sysrq, "[    4.19] Kernel panic - not syncing: sysrq triggered crash\n")]
    [InlineData(CrashKind.Nmi, "Uhhuh. NMI received for unknown reason 21 on CPU 0.\nKernel panic - not syncing: NMI: Not continuing\n")]
    [InlineData(CrashKind.Oops, "BUG: kernel NULL pointer dereference, address: 0000000000000000\n...\nKernel panic - not syncing: Fatal exception\n")]
    [InlineData(CrashKind.Bug, "kernel BUG at /build/crashtest.c:42!\nKernel panic - not syncing: Fatal exception\n")]
    [InlineData(CrashKind.Warn, "WARNING: CPU: 1 PID: 77 at crashtest.c:48\nKernel panic - not syncing: kernel: panic_on_warn set ...\n")]
    [InlineData(CrashKind.Softlockup, "watchdog: BUG: soft lockup - CPU#1 stuck for 4s! [sh:80]\nKernel panic - not syncing: softlockup: hung tasks\n")]
    [InlineData(CrashKind.Hung, "INFO: task sh:81 blocked for more than 3 seconds.\nKernel panic - not syncing: hung_task: blocked tasks\n")]
    [InlineData(CrashKind.Oom, "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled\n")]
    public void EachKindRecognisesItsOwnPanic(CrashKind kind, string console)
    {
        Assert.Matches(LabBuilder.ExpectedPanic(kind), console);
        // ...and a plain sysrq panic is not mistaken for any other kind.
        if (kind != CrashKind.Sysrq)
            Assert.DoesNotMatch(LabBuilder.ExpectedPanic(kind), "Kernel panic - not syncing: sysrq triggered crash\n");
    }
}
