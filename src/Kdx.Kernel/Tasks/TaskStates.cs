// Task state names as crash prints them. The state bits are the kernel's (include/linux/sched.h,
// stable since 4.14, whose task_state_array in the dump lists the same order: R S D T t X Z P I);
// TASK_NOLOAD with TASK_UNINTERRUPTIBLE is TASK_IDLE ("ID").
namespace Kdx.Kernel.Tasks;

public static class TaskStates
{
    public const ulong Interruptible = 0x1;
    public const ulong Uninterruptible = 0x2;
    public const ulong Stopped = 0x4;
    public const ulong Traced = 0x8;
    public const ulong ExitDead = 0x10;
    public const ulong ExitZombie = 0x20;
    public const ulong Parked = 0x40;
    public const ulong Dead = 0x80;
    public const ulong WakeKill = 0x100;
    public const ulong Waking = 0x200;
    public const ulong NoLoad = 0x400;
    public const ulong New = 0x800;

    /// <summary>PF_KTHREAD in task_struct.flags.</summary>
    public const ulong KernelThreadFlag = 0x00200000;

    public static string Name(ulong state, ulong exitState)
    {
        if ((exitState & ExitZombie) != 0)
            return "ZO";
        if ((exitState & ExitDead) != 0)
            return "DE";
        if (state == 0)
            return "RU";
        if ((state & Uninterruptible) != 0 && (state & NoLoad) != 0)
            return "ID";
        if ((state & Interruptible) != 0)
            return "IN";
        if ((state & Uninterruptible) != 0)
            return "UN";
        if ((state & Stopped) != 0)
            return "ST";
        if ((state & Traced) != 0)
            return "TR";
        if ((state & Parked) != 0)
            return "PA";
        if ((state & Dead) != 0)
            return "DE";
        if ((state & Waking) != 0)
            return "WA";
        if ((state & New) != 0)
            return "NE";
        return "??";
    }
}
