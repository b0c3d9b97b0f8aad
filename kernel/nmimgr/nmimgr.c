// SPDX-License-Identifier: GPL-2.0
/*
 * nmimgr - choose per NMI event code what an unclaimed x86 NMI does.
 *
 * The kernel reaches the NMI_UNKNOWN, NMI_SERR and NMI_IO_CHECK handler
 * lists only for NMIs that no CPU-local source (perf, the NMI watchdog,
 * backtrace IPIs) claimed: those are the ones a BMC, a "diag" button or a
 * hypervisor sends.  For each of them nmimgr reads the event code (the
 * NMI reason byte) and looks it up in three lists:
 *
 *   events_ignore  pass it on silently, as if nmimgr were not loaded
 *   events_drop    claim it (NMI_HANDLED) so the kernel neither prints
 *                  "Uhhuh" nor panics through unknown_nmi_panic
 *   events_panic   nmi_panic(), so that kdump captures the machine
 *
 * Codes in no list are logged and passed on.  The lists are checked in
 * that order, so a code in two lists gets the earlier action.
 *
 * Every list is a 256-bit bitmap.  A write parses into a scratch bitmap,
 * copies it into the inactive one of two slots and publishes the slot
 * index with a release store; the handler reads the index with an acquire
 * load and tests one bit.  Nothing in the NMI path allocates, locks or
 * sleeps.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/crash_dump.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <asm/nmi.h>
#include <asm/x86_init.h>

#define NMIMGR_CODES	256

/*
 * Each list has two bitmaps; @active names the one the NMI handler reads.
 * Writers are serialised by the module parameter lock, which the params
 * core holds around every ->set() (load-time options, boot command line
 * and sysfs writes alike), so only readers run concurrently with a write.
 */
struct nmimgr_list {
	unsigned long map[2][BITS_TO_LONGS(NMIMGR_CODES)];
	unsigned int active;
};

static struct nmimgr_list nmimgr_ignore;
static struct nmimgr_list nmimgr_drop;
static struct nmimgr_list nmimgr_panic;

static atomic_long_t nmimgr_count[NMIMGR_CODES];
static atomic_long_t nmimgr_dump_claims;

/* Per-code log ratelimit: last log time (jiffies | 1, 0 = never). */
static atomic_long_t nmimgr_last_log[NMIMGR_CODES];
static atomic_t nmimgr_unlogged[NMIMGR_CODES];

static bool protect_dump = true;
static unsigned int ratelimit_ms = 5000;
static bool nmimgr_in_kdump_kernel;

static bool nmimgr_listed(const struct nmimgr_list *list, u8 code)
{
	unsigned int slot;

	/* Pairs with the release in nmimgr_list_set(): the map is complete. */
	slot = smp_load_acquire(&list->active);

	/*
	 * A single word is read: even if two writes land while this NMI
	 * runs and the slot is refilled under us, the bit comes from either
	 * the old or a new list, never from a half-written word.
	 */
	return test_bit(code, list->map[slot]);
}

/*
 * Whether a panic or a crash dump is under way, so that a further NMI
 * must not start anything.  Linux 6.18 exports panic_in_progress(); older
 * kernels export no view of panic_cpu, but panic() (and oops_begin(),
 * which runs before crash_kexec() on an oops) raise oops_in_progress with
 * bust_spinlocks(1) before kdump is started.  In a capture kernel the
 * dump is the only thing left to do.
 */
static bool nmimgr_dump_in_progress(void)
{
	if (nmimgr_in_kdump_kernel)
		return true;
#ifdef NMIMGR_HAVE_PANIC_IN_PROGRESS
	return panic_in_progress();
#else
	return READ_ONCE(oops_in_progress) != 0;
#endif
}

/*
 * At most one pair of log lines per code per ratelimit_ms.  printk() is
 * safe in NMI context (deferred to irq_work on every kernel this module
 * supports), but an NMI storm must not flood the console, and the kernel's
 * own ratelimit state is shared and takes a lock.  This one is a cmpxchg
 * on a per-code timestamp: a lost race only means one line less.
 */
static bool nmimgr_may_log(u8 code)
{
	unsigned long interval = msecs_to_jiffies(READ_ONCE(ratelimit_ms));
	unsigned long now = jiffies | 1;
	long last = atomic_long_read(&nmimgr_last_log[code]);

	if (!interval)
		return true;
	if (last && time_before(now, (unsigned long)last + interval))
		goto suppress;
	if (atomic_long_cmpxchg(&nmimgr_last_log[code], last, now) == last)
		return true;
suppress:
	atomic_inc(&nmimgr_unlogged[code]);
	return false;
}

static int nmimgr_handler(unsigned int type, struct pt_regs *regs)
{
	bool drop, do_panic, log;
	int unlogged;
	u8 code;

	/*
	 * default_do_nmi() read the reason byte (port 0x61, "NMI status and
	 * control") just before it called the NMI_UNKNOWN handlers, or is
	 * inside pci_serr_error()/io_check_error() for NMI_SERR and
	 * NMI_IO_CHECK, which clear the SERR/IOCHK latch only after the
	 * handlers ran.  The latched bits are thus still set, and the other
	 * bits (PIT gate, speaker, refresh toggle) are what the kernel itself
	 * prints in "NMI received for unknown reason %02x", so reading the
	 * byte again here gives the code the administrator sees in the log.
	 * The handlers are not passed the byte, hence the second read.
	 */
	code = x86_platform.get_nmi_reason();
	atomic_long_inc(&nmimgr_count[code]);

	if (READ_ONCE(protect_dump) && nmimgr_dump_in_progress()) {
		atomic_long_inc(&nmimgr_dump_claims);
		return NMI_HANDLED;
	}

	if (nmimgr_listed(&nmimgr_ignore, code))
		return NMI_DONE;

	drop = nmimgr_listed(&nmimgr_drop, code);
	do_panic = !drop && nmimgr_listed(&nmimgr_panic, code);

	/* A panic is logged whatever the ratelimit: it happens once. */
	log = do_panic || nmimgr_may_log(code);
	if (log) {
		unlogged = atomic_xchg(&nmimgr_unlogged[code], 0);
		if (unlogged)
			pr_info("%d NMI events with code 0x%02x were not logged (ratelimit_ms)\n",
				unlogged, code);
		pr_info("Handling new NMI type:%u event:0x%02x (%d)\n",
			type, code, code);
	}

	if (drop) {
		if (log)
			pr_info("Dropping NMI event 0x%02x (%d)\n", code, code);
		return NMI_HANDLED;
	}

	if (do_panic) {
		pr_emerg("NMI event 0x%02x (%d) is in events_panic\n",
			 code, code);
		nmi_panic(regs, "nmimgr: NMI event listed in events_panic");
		/* nmi_panic() returns on a CPU that is already panicking. */
		return NMI_HANDLED;
	}

	if (log)
		pr_info("Unmanaged NMI event 0x%02x (%d), let it pass\n",
			code, code);
	return NMI_DONE;
}
NOKPROBE_SYMBOL(nmimgr_handler);

/*
 * A list is rejected whole: parse into a scratch bitmap first and publish
 * only a complete result, so a bad write leaves the old list in force.
 */
static int nmimgr_list_set(const char *val, const struct kernel_param *kp)
{
	struct nmimgr_list *list = kp->arg;
	DECLARE_BITMAP(map, NMIMGR_CODES);
	unsigned int next;

	if (bitmap_parselist(val, map, NMIMGR_CODES)) {
		pr_warn("%s: rejected \"%.*s\": want codes 0-255 as a list like 0,13,16-20\n",
			kp->name, (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}

	next = !list->active;
	bitmap_copy(list->map[next], map, NMIMGR_CODES);
	/* Publish the filled map; pairs with the acquire in nmimgr_listed(). */
	smp_store_release(&list->active, next);
	return 0;
}

static int nmimgr_list_get(char *buffer, const struct kernel_param *kp)
{
	const struct nmimgr_list *list = kp->arg;

	return scnprintf(buffer, PAGE_SIZE, "%*pbl\n", NMIMGR_CODES,
			 list->map[READ_ONCE(list->active)]);
}

static const struct kernel_param_ops nmimgr_list_ops = {
	.set = nmimgr_list_set,
	.get = nmimgr_list_get,
};

module_param_cb(events_ignore, &nmimgr_list_ops, &nmimgr_ignore, 0644);
__MODULE_PARM_TYPE(events_ignore, "list");
MODULE_PARM_DESC(events_ignore,
		 "Event codes passed on silently, e.g. 0,16-20 (list of 0-255)");
module_param_cb(events_drop, &nmimgr_list_ops, &nmimgr_drop, 0644);
__MODULE_PARM_TYPE(events_drop, "list");
MODULE_PARM_DESC(events_drop,
		 "Event codes claimed and logged so the kernel ignores them (list of 0-255)");
module_param_cb(events_panic, &nmimgr_list_ops, &nmimgr_panic, 0644);
__MODULE_PARM_TYPE(events_panic, "list");
MODULE_PARM_DESC(events_panic,
		 "Event codes that panic the kernel so kdump runs (list of 0-255)");

module_param(protect_dump, bool, 0644);
MODULE_PARM_DESC(protect_dump,
		 "Claim every NMI once a panic is under way or in a kdump kernel (default: on)");
module_param(ratelimit_ms, uint, 0644);
MODULE_PARM_DESC(ratelimit_ms,
		 "Log each event code at most once per this many ms, 0 = every time (default: 5000)");

static int nmimgr_readonly_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

/*
 * "code count" lines for every code seen since load, codes in decimal.  The
 * params core hands us one page; 256 codes with very large counts could
 * exceed it, and scnprintf() then truncates rather than overruns.
 */
static int nmimgr_counters_get(char *buffer, const struct kernel_param *kp)
{
	unsigned int code;
	long count;
	int len = 0;

	for (code = 0; code < NMIMGR_CODES; code++) {
		count = atomic_long_read(&nmimgr_count[code]);
		if (count)
			len += scnprintf(buffer + len, PAGE_SIZE - len,
					 "%u %ld\n", code, count);
	}
	return len;
}

static const struct kernel_param_ops nmimgr_counters_ops = {
	.set = nmimgr_readonly_set,
	.get = nmimgr_counters_get,
};

module_param_cb(counters, &nmimgr_counters_ops, NULL, 0444);
MODULE_PARM_DESC(counters,
		 "Read only: \"code count\" per event code seen since load");

static int nmimgr_dump_claims_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%ld\n",
			 atomic_long_read(&nmimgr_dump_claims));
}

static const struct kernel_param_ops nmimgr_dump_claims_ops = {
	.set = nmimgr_readonly_set,
	.get = nmimgr_dump_claims_get,
};

module_param_cb(dump_claims, &nmimgr_dump_claims_ops, NULL, 0444);
MODULE_PARM_DESC(dump_claims,
		 "Read only: NMIs claimed by protect_dump during a panic or in a kdump kernel");

static int __init nmimgr_init(void)
{
	int ret;

	nmimgr_in_kdump_kernel = is_kdump_kernel();

	/*
	 * NMI_FLAG_FIRST puts nmimgr ahead of other handlers on each list;
	 * every handler still runs (see README.md), but a panic decided here
	 * happens before any of them can act.  register_nmi_handler() defines
	 * a static nmiaction per call site, hence one call per list.
	 */
	ret = register_nmi_handler(NMI_UNKNOWN, nmimgr_handler, NMI_FLAG_FIRST,
				   KBUILD_MODNAME);
	if (ret)
		goto err;
	ret = register_nmi_handler(NMI_SERR, nmimgr_handler, NMI_FLAG_FIRST,
				   KBUILD_MODNAME);
	if (ret)
		goto err_unknown;
	ret = register_nmi_handler(NMI_IO_CHECK, nmimgr_handler, NMI_FLAG_FIRST,
				   KBUILD_MODNAME);
	if (ret)
		goto err_serr;

	pr_info("loaded: ignore=%*pbl drop=%*pbl panic=%*pbl protect_dump=%d%s\n",
		NMIMGR_CODES, nmimgr_ignore.map[nmimgr_ignore.active],
		NMIMGR_CODES, nmimgr_drop.map[nmimgr_drop.active],
		NMIMGR_CODES, nmimgr_panic.map[nmimgr_panic.active],
		protect_dump, nmimgr_in_kdump_kernel ? " (kdump kernel)" : "");
	return 0;

err_serr:
	unregister_nmi_handler(NMI_SERR, KBUILD_MODNAME);
err_unknown:
	unregister_nmi_handler(NMI_UNKNOWN, KBUILD_MODNAME);
err:
	pr_err("cannot register the NMI handlers: %d\n", ret);
	return ret;
}

static void __exit nmimgr_exit(void)
{
	unregister_nmi_handler(NMI_IO_CHECK, KBUILD_MODNAME);
	unregister_nmi_handler(NMI_SERR, KBUILD_MODNAME);
	unregister_nmi_handler(NMI_UNKNOWN, KBUILD_MODNAME);
	pr_info("unloaded\n");
}

module_init(nmimgr_init);
module_exit(nmimgr_exit);

MODULE_DESCRIPTION("Per event code policy (ignore, drop, panic) for unclaimed x86 NMIs");
MODULE_AUTHOR("kdx project");
MODULE_LICENSE("GPL");
MODULE_VERSION("1.0");
