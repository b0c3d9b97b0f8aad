# Capture-kernel script for NmiLabTests: while the dump of an nmimgr panic is being taken, a
# second NMI arrives (an impatient operator's "diag"). The capture kernel runs with
# unknown_nmi_panic, so only nmimgr's protect_dump stands between that NMI and a lost dump.
P=/sys/module/nmimgr/parameters
out() { echo "$*" > /dev/console; }
out "NMITEST capture protect_dump=$(cat $P/protect_dump) unknown_nmi_panic=$(cat /proc/sys/kernel/unknown_nmi_panic) panic=[$(cat $P/events_panic)] dump_claims=$(cat $P/dump_claims)"
out "KDXLAB-MONITOR nmi"
i=0
while [ "$(cat $P/dump_claims)" -lt 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
out "NMITEST capture dump_claims=$(cat $P/dump_claims) counters=[$(tr '\n' ' ' < $P/counters)]"
