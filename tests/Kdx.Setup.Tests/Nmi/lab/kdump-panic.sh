# Guest script for NmiLabTests' kdump scenarios (crash kernel armed by the lab's /init): learns
# the code QEMU's NMI carries on this guest, lists that code and its partner (bit 0x10 is the
# live refresh toggle of port 0x61) in events_panic, and panics through nmimgr into kdump.
# NMITEST lines are read by the host test; "KDXLAB-MONITOR nmi" makes the host inject an NMI.
P=/sys/module/nmimgr/parameters
out() { echo "$*" > /dev/console; }
total() { awk '{ s += $2 } END { print s + 0 }' $P/counters; }
nmi() {
	before=$(total)
	out "KDXLAB-MONITOR nmi"
	i=0
	while [ "$(total)" = "$before" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1
}

echo 0-255 > $P/events_drop
out "NMITEST stage learn"
nmi
code=$(awk '$2 > 0 { print $1; exit }' $P/counters)
echo , > $P/events_drop
echo "$code,$((code ^ 16))" > $P/events_panic
out "NMITEST stage panic code=$code panic=[$(cat $P/events_panic)] crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
# Bit 0x20 (timer 2 output) is steady on an idle guest; should it flip, the NMI is only
# "unmanaged" and the next one is tried.
for n in 1 2 3 4 5; do
	nmi
	out "NMITEST still alive after $n"
done
