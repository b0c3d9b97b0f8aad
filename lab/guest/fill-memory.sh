# Guest script for LabCatalog.SysrqQemuLarge: make a large guest's memory look used before the
# crash, so a dump of it is not almost all free or zero pages. In a tmpfs (shmem page cache: kept
# at -d 1, excluded at -d 31): 768 MiB of random bytes (incompressible) and the hex text of 192 MiB
# of random bytes (~640 MiB that compresses about 2:1), then a sysrq crash.
mkdir -p /fill
mount -t tmpfs -o size=90% tmpfs /fill
dd if=/dev/urandom of=/fill/random bs=1M count=768 2>/dev/null
head -c 201326592 /dev/urandom | od -A x -t x1 > /fill/text
echo "FILL-DONE $(du -sm /fill | cut -f1) MiB; $(free -m | grep Mem:)"
# Let the console drain before the panic's messages start.
sleep 3
echo c > /proc/sysrq-trigger
