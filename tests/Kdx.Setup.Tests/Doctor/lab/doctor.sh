# Guest script for DoctorLabTests: runs the NativeAOT kdx (/lab/kdx) as "kdx doctor" and
# "kdx doctor --json" on the lab guest and prints both between DOCTORTEST markers, then crashes
# the guest so the scenario completes. With a kdump capture the lab's /init has already loaded
# the crash kernel (kexec -p); without one there is no crashkernel= and nothing is loaded.
out() { echo "$*" > /dev/console; }
# The lockdown check reads /sys/kernel/security/lockdown.
mount -t securityfs securityfs /sys/kernel/security
# Debian's defaults leave these off; docs/doctor.md names them as what a ready guest needs
# (kernel.sysrq=1 is set by /init).
echo 1 > /proc/sys/kernel/panic_on_oops
echo 1 > /proc/sys/kernel/unknown_nmi_panic

/lab/kdx doctor > /tmp/doctor.txt 2>&1
rc=$?
out "DOCTORTEST text begin"
cat /tmp/doctor.txt > /dev/console
out "DOCTORTEST text end rc=$rc"

/lab/kdx doctor --json > /tmp/doctor.json 2> /tmp/doctor.err
rc=$?
out "DOCTORTEST json begin"
cat /tmp/doctor.json > /dev/console
out "DOCTORTEST json end rc=$rc stderr=[$(tr '\n' ' ' < /tmp/doctor.err)]"

# The tty drains to the serial port behind the kernel's own console writes: let it finish
# before the panic's messages start.
sleep 3
echo c > /proc/sysrq-trigger
