# Guest script for LabCatalog.SysrqQemuLarge: make a large guest's memory look used before the
# crash, so a dump of it is not almost all free or zero pages. Into a tmpfs (shmem page cache:
# kept at -d 1, excluded at -d 31): 80 copies of the compressed kernel image (~640 MiB that does
# not compress) and 40 copies of the initramfs's programs and libraries (machine code and data
# that compresses about 2:1). Copies, not /dev/urandom: TCG makes random numbers far too slow.
mkdir -p /fill
mount -t tmpfs -o size=90% tmpfs /fill
i=0
while [ $i -lt 80 ]; do cat /lab/vmlinuz > /fill/kernel.$i; i=$((i + 1)); done
i=0
while [ $i -lt 40 ]; do
    cat /bin/busybox /lab/*.ko /sbin/* /usr/bin/* /lib/x86_64-linux-gnu/* /usr/lib/x86_64-linux-gnu/* > /fill/code.$i 2>/dev/null
    i=$((i + 1))
done
echo "FILL-DONE $(du -sm /fill | cut -f1) MiB in /fill; $(free -m | grep Mem:)"
# Let the console drain before the panic's messages start.
sleep 3
echo c > /proc/sysrq-trigger
