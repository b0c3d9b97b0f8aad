# Guest script for NmiLabTests: walks nmimgr (loaded with ratelimit_ms=0) through drop, ignore,
# unmanaged, malformed writes and finally events_panic, with real NMIs from the QEMU monitor.
# Every "NMITEST" line is read by the host test; a "KDXLAB-MONITOR nmi" line makes the host
# inject an NMI.
P=/sys/module/nmimgr/parameters
out() { echo "$*" > /dev/console; }
total() { awk '{ s += $2 } END { print s + 0 }' $P/counters; }
# Ask the host for an NMI and wait until nmimgr has counted it (then a second for the log).
nmi() {
	before=$(total)
	out "KDXLAB-MONITOR nmi"
	i=0
	while [ "$(total)" = "$before" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1
}
state() { out "NMITEST $1 counters=[$(tr '\n' ' ' < $P/counters)] dump_claims=$(cat $P/dump_claims)"; }

echo 0-255 > $P/events_drop
out "NMITEST stage drop"
nmi
state drop

echo , > $P/events_drop
echo all > $P/events_ignore
out "NMITEST stage ignore ignore=[$(cat $P/events_ignore)] drop=[$(cat $P/events_drop)]"
nmi
state ignore

echo , > $P/events_ignore
out "NMITEST stage unmanaged"
nmi
state unmanaged

echo 7,9 > $P/events_drop
for bad in 1- 300 a,b 5-3; do
	if echo "$bad" > $P/events_drop 2>/dev/null; then r=accepted; else r=rejected; fi
	out "NMITEST write $bad $r drop=[$(cat $P/events_drop)]"
done
echo , > $P/events_drop

echo 0-255 > $P/events_panic
out "NMITEST stage panic panic=[$(cat $P/events_panic)]"
nmi
out "NMITEST still alive"
