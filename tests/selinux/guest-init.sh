#!/bin/bash
# PID 1 of the SELinux test VM (kernel command line:
#   security=selinux selinux=1 enforcing=1 init=/sbin/saferun-selinux-init).
# Part of the cached image (build-image.sh); keep it small and generic: it
# mounts the basics, loads the policy, mounts the per-run disk (/dev/vdb,
# made by run.sh) on /payload and runs /payload/guest-run.sh, which holds the
# actual checks, then powers off. No systemd, no auditd.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Without auditd, AVC records go to printk, whose rate limit drops most.
echo 0 > /proc/sys/kernel/printk_ratelimit
echo "INFO uptime_at_init=$(cut -d' ' -f1 /proc/uptime)"
echo "INFO lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)"
load_policy -i
echo "INFO load_policy_rc=$?"
# Fresh /run and /tmp now that a policy is loaded, so files created there
# get the types a booted host would give them; relabel /dev.
mount -t tmpfs -o mode=755,rootcontext=system_u:object_r:var_run_t:s0 tmpfs /run
mount -t tmpfs -o mode=1777,rootcontext=system_u:object_r:tmp_t:s0 tmpfs /tmp
# (/dev/null and /dev/console first: restorecon runs in setfiles_t, which
# may not write them while devtmpfs gives them device_t)
chcon system_u:object_r:null_device_t:s0 /dev/null
chcon system_u:object_r:console_device_t:s0 /dev/console
restorecon -R /dev /run >/dev/null 2>&1
echo "INFO enforce=$(cat /sys/fs/selinux/enforce 2>/dev/null) mls=$(cat /sys/fs/selinux/mls 2>/dev/null) init_context=$(tr -d '\0' </proc/self/attr/current)"

if mount -o ro /dev/vdb /payload 2>/dev/null && [ -f /payload/guest-run.sh ]; then
  # guest-run.sh bounds its own steps; this is the last resort
  timeout -k 5 "$(sed -n 's/.*saferun.timeout=\([0-9]*\).*/\1/p' /proc/cmdline | grep . || echo 240)" \
    bash /payload/guest-run.sh
  echo "INFO guest_run_rc=$?"
else
  echo "RESULT FAIL payload no /dev/vdb with guest-run.sh"
fi
echo "----- done -----"
sync
echo o > /proc/sysrq-trigger 2>/dev/null
sleep 5
poweroff -f
