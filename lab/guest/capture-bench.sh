#!/bin/sh
# The capture-kernel benchmark (bench capture-kernel, scenario LabCatalog.CaptureKernelBench): run
# as the capture script of a kdump kernel, before the lab's collectors. Times kdx capture (/lab/kdx)
# against the initramfs's makedumpfile on the real /proc/vmcore, one tool after the other, writing
# to this kernel's tmpfs (/tmp) and deleting each output. Wall time, user/sys time and peak RSS come
# from busybox time (peak RSS corrected, see PAGE_KIB); the output size from stat. The host reads these console lines:
#   KDXLAB-BENCH fact NAME VALUE...       what this capture kernel is
#   KDXLAB-BENCH plan PHASE:OPTIONS:RUNS  what follows (OPTIONS with commas for spaces)
#   KDXLAB-BENCH run phase=P opts=O tool=T i=N rc=RC wall=S user=S sys=S rss_kib=K bytes=B
#   KDXLAB-BENCH log TEXT                 a failed run's last messages
#   KDXLAB-BENCH done
# Phases: "first" runs each tool once before anything is timed (under TCG the first run of a program
# also pays for translating its code, which a real CPU does not); "start" is process start-up alone
# (--version); "classify" is --dry-run (kdx classifies only; makedumpfile skips only write()); "capture" writes a dump.
say() { echo "KDXLAB-BENCH $*" > /dev/console; }
W=/tmp/bench
OUT=$W/vmcore
mkdir -p $W
# busybox time's %M is ru_maxrss (already KiB on Linux) multiplied by the page size in KiB (its ptok()),
# 4 times too much with 4 KiB pages: divided back below.
PAGE_KIB=$(awk '/^KernelPageSize:/ { print $2; exit }' /proc/self/smaps)

say "fact release $(uname -r)"
say "fact cpus $(nproc)"
say "fact page_kib $PAGE_KIB"
say "fact memtotal_kib $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
say "fact memfree_kib $(awk '/^MemFree:/ { print $2 }' /proc/meminfo)"
say "fact tmpfs_kib $(df -k /tmp | awk 'NR == 2 { print $2 }')"
say "fact vmcore_bytes $(stat -c %s /proc/vmcore)"
say "fact cpu_caches $(for c in /sys/devices/system/cpu/cpu0/cache/index*; do echo "L$(cat $c/level)-$(cat $c/type):$(cat $c/size)"; done | tr '\n' ' ')"
say "fact cmdline $(cat /proc/cmdline)"

# Each phase with its options (commas for spaces) and timed runs per tool. -c is zlib at its default
# level in both tools (the same libz.so.1: kdx loads the system's), the slowest under TCG.
PLAN="first:-l,-d,31:1 start:--version:3 classify:--dry-run,-d,31:3 capture:-l,-d,31:3 capture:-c,-d,31:3 capture:-l,-d,1:3"
for p in $PLAN; do say "plan $p"; done

# one TOOL PHASE OPTIONS I: runs TOOL once and says how it went.
one() {
    tool=$1; phase=$2; opts=$3; i=$4
    words=$(echo "$opts" | tr , ' ')
    rm -f $OUT $OUT-incomplete
    case "$tool/$phase" in
    kdx/start) set -- /lab/kdx --version ;;
    kdx/classify) set -- /lab/kdx capture $words /proc/vmcore ;;
    kdx/*) set -- /lab/kdx capture $words /proc/vmcore $OUT ;;
    makedumpfile/start) set -- makedumpfile -v ;;
    makedumpfile/*) set -- makedumpfile $words /proc/vmcore $OUT ;; # its --dry-run still wants a DUMPFILE
    esac
    busybox time -f "%e %U %S %M" -o $W/time "$@" > $W/log 2>&1
    rc=$?
    bytes=0
    [ -f $OUT ] && bytes=$(stat -c %s $OUT)
    rm -f $OUT $OUT-incomplete
    set -- $(tail -n 1 $W/time)
    say "run phase=$phase opts=$opts tool=$tool i=$i rc=$rc wall=$1 user=$2 sys=$3 rss_kib=$(($4 / PAGE_KIB)) bytes=$bytes"
    if [ $rc -ne 0 ]; then
        tail -n 20 $W/log | tr '\r' '\n' | while read -r line; do say "log $line"; done
    fi
}

for p in $PLAN; do
    phase=${p%%:*}; rest=${p#*:}; opts=${rest%:*}; runs=${rest##*:}
    i=1
    while [ $i -le $runs ]; do    # alternating tools, run by run
        one kdx $phase $opts $i
        one makedumpfile $phase $opts $i
        i=$((i + 1))
    done
    if [ $phase = first ]; then  # the tools' versions only now: the first runs must be each program's first start
        say "fact kdx $(/lab/kdx --version 2>&1 | head -n 1)"
        say "fact makedumpfile $(makedumpfile -v 2>&1 | head -n 1)"
    fi
done
say "done"
