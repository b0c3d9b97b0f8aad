// SPDX-License-Identifier: GPL-2.0
/*
 * crashtest - test-only module that crashes the kernel in well-known ways, so the kdx crash
 * lab can produce real dumps of each panic class. NEVER load this on a machine you care about.
 *
 * Usage: echo <action> > /sys/module/crashtest/parameters/trigger
 *   oops        NULL pointer dereference in process context
 *   bug         BUG()
 *   warn        WARN() (panics only with kernel.panic_on_warn=1)
 *   softlockup  spin with preemption disabled (panics with kernel.softlockup_panic=1)
 *   hung        sleep uninterruptibly forever (panics with kernel.hung_task_panic=1)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/string.h>

static DECLARE_COMPLETION(crashtest_never);

/* Each action is its own non-inlined function so it shows up by name in backtraces. */
static noinline void crashtest_oops(void)
{
	volatile int *p = NULL;

	pr_emerg("action oops: dereferencing NULL\n");
	*p = 0x6b6478;
}

static noinline void crashtest_bug(void)
{
	pr_emerg("action bug: calling BUG()\n");
	BUG();
}

static noinline void crashtest_warn(void)
{
	WARN(1, "crashtest: action warn\n");
}

static noinline void crashtest_softlockup(void)
{
	pr_emerg("action softlockup: spinning with preemption disabled\n");
	preempt_disable();
	for (;;)
		cpu_relax();
}

static noinline void crashtest_hung(void)
{
	pr_emerg("action hung: sleeping uninterruptibly forever\n");
	wait_for_completion(&crashtest_never);
}

struct crashtest_action {
	const char *name;
	void (*fn)(void);
};

static const struct crashtest_action crashtest_actions[] = {
	{ "oops", crashtest_oops },
	{ "bug", crashtest_bug },
	{ "warn", crashtest_warn },
	{ "softlockup", crashtest_softlockup },
	{ "hung", crashtest_hung },
};

static int crashtest_trigger_set(const char *val, const struct kernel_param *kp)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(crashtest_actions); i++) {
		if (sysfs_streq(val, crashtest_actions[i].name)) {
			crashtest_actions[i].fn();
			return 0;
		}
	}
	pr_err("unknown action '%s'\n", val);
	return -EINVAL;
}

static const struct kernel_param_ops crashtest_trigger_ops = {
	.set = crashtest_trigger_set,
	.get = NULL,
};

module_param_cb(trigger, &crashtest_trigger_ops, NULL, 0200);
MODULE_PARM_DESC(trigger, "Write an action to crash: oops, bug, warn, softlockup, hung");

static int __init crashtest_init(void)
{
	pr_info("loaded; write an action to /sys/module/crashtest/parameters/trigger\n");
	return 0;
}

static void __exit crashtest_exit(void)
{
}

module_init(crashtest_init);
module_exit(crashtest_exit);

MODULE_DESCRIPTION("kdx crash lab: crash the kernel on demand (test only)");
MODULE_LICENSE("GPL");
