#!/bin/busybox sh
# /init of the kdx crash lab guest. One initramfs serves both kernels:
# - the first kernel sets up a small but real system, arms kdump if asked, and crashes itself;
# - the capture kernel (it has /proc/vmcore) runs the collectors and powers off.
# Lines starting with KDXLAB- are read by the host (lab/Kdx.Lab/QemuGuest.cs); a line
# "KDXLAB-MONITOR <command>" makes the host run <command> on the QEMU monitor (e.g. nmi).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /out
mount -t tmpfs tmpfs /tmp

arg() { # value of kdxlab.NAME= on the kernel command line
    for w in $(cat /proc/cmdline); do
        case "$w" in kdxlab.$1=*) echo "${w#kdxlab.$1=}" ;; esac
    done
}
say() { echo "KDXLAB-$*" > /dev/console; }
loadmods() { # modules in dependency order, each with its options (lines: NAME [OPTIONS])
    while read -r m opts; do insmod "/lab/modules/$m.ko" $opts || say "MODFAIL $m"; done < /lab/modules.order
}

if [ -e /proc/vmcore ]; then
    # ---- capture kernel ----
    say "CAPTURE-KERNEL $(uname -r)"
    loadmods
    for dev in $(cat /lab/capture.devs); do   # disks probe asynchronously after insmod
        n=0
        while [ ! -b "/dev/$dev" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
        [ -b "/dev/$dev" ] || say "NODISK $dev"
    done
    if [ -f /lab/capture-script.sh ]; then
        sh /lab/capture-script.sh
        say "CAPTURE-SCRIPT-DONE rc=$?"
    fi
    i=0
    for dev in $(cat /lab/capture.devs); do
        cmd=$(sed -n "$((i + 1))p" /lab/capture.cmds)
        i=$((i + 1))
        say "COLLECT $dev $cmd"
        if [ ! -b "/dev/$dev" ]; then say "COLLECTED $dev rc=99"; continue; fi
        start=$(cut -d' ' -f1 /proc/uptime)
        set -o pipefail
        case "$cmd" in
        stream:*)   # the collector writes to stdout: stream it onto the disk and count the bytes
            n=$(sh -c "${cmd#stream:}" | tee "/dev/$dev" | wc -c)
            rc=$?
            say "STREAM $dev $n" ;;
        *)          # the collector writes files into /out: pack them onto the disk as tar
            rm -rf /out/*; mkdir -p /out
            (cd /out && sh -c "$cmd")
            rc=$?
            tar -chf "/dev/$dev" -C /out . ;;
        esac
        sync
        say "COLLECTED $dev rc=$rc start=$start end=$(cut -d' ' -f1 /proc/uptime)"
    done
    say "CAPTURE-DONE"
    echo o > /proc/sysrq-trigger
    sleep 30
fi

# ---- first kernel ----
say "BOOTED $(uname -r)"
loadmods
hostname kdxlab
# A small but real process tree so task lists are not trivial.
for i in 1 2 3; do sleep 100000 & done
(while :; do sleep 1; done) &
mkfifo /tmp/fifo; (cat /tmp/fifo > /dev/null) &
crash=$(arg crash)
capture=$(arg capture)
if [ "$capture" = kdump ]; then
    if kexec -p /lab/vmlinuz --initrd=/lab/initrd.img \
        --append="console=ttyS0 no_timer_check nr_cpus=1 irqpoll reset_devices panic=1 $(arg kdumpappend | tr , ' ')"; then
        say "KDUMP-LOADED $(cat /sys/kernel/kexec_crash_loaded) $(cat /sys/kernel/kexec_crash_size)"
    else
        say "KDUMP-FAILED"
        echo o > /proc/sysrq-trigger
    fi
fi
echo 1 > /proc/sys/kernel/sysrq
sleep 1
case "$crash" in
script)     say READY; sh /lab/script.sh; say "SCRIPT-DONE rc=$?" ;;
sysrq)      say READY; sh -c 'echo c > /proc/sysrq-trigger' ;;
nmi)        echo 1 > /proc/sys/kernel/unknown_nmi_panic; say READY; say "MONITOR nmi" ;;
oops|bug)   echo 1 > /proc/sys/kernel/panic_on_oops; say READY
            sh -c "echo $crash > /sys/module/crashtest/parameters/trigger" ;;
warn)       echo 1 > /proc/sys/kernel/panic_on_warn; say READY
            sh -c 'echo warn > /sys/module/crashtest/parameters/trigger' ;;
softlockup) echo 1 > /proc/sys/kernel/softlockup_panic; echo 2 > /proc/sys/kernel/watchdog_thresh
            say READY; sh -c 'echo softlockup > /sys/module/crashtest/parameters/trigger' ;;
hung)       echo 1 > /proc/sys/kernel/hung_task_panic; echo 3 > /proc/sys/kernel/hung_task_timeout_secs
            say READY; sh -c 'echo hung > /sys/module/crashtest/parameters/trigger' & ;;
oom)        echo 1 > /proc/sys/vm/panic_on_oom; say READY; /lab/memhog ;;
*)          say "BADCRASH $crash" ;;
esac
# Wait for the host (nmi), or for a crash that takes a while (hung, softlockup).
while :; do sleep 5; done
