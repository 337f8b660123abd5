#!/bin/bash
# The checks of the SELinux VM, run inside the guest by its PID 1
# (guest-init.sh) from the per-run disk, as root in kernel_t, with SELinux
# enforcing. Not part of the cached image: editing this file needs no
# rebuild. Prints "RESULT PASS|FAIL <check> <detail>" lines (run.sh counts
# them), "INFO ..." lines, and the AVC denials when something fails.
#
# Checks (see tests/selinux/README.md):
#   smoke_*   runc run directly with a hand-made labelled bundle (proves the
#             VM plumbing independently of safe-run)
#   a_*       the container's /proc/self/attr/current is the label safe-run
#             allocated (a container_t label with an MCS pair)
#   b_*       its tmpfs/devpts mounts carry context=container_file_t with the pair
#   c_*       a file it creates on a shared (s0) writable bind gets its pair
#   d_*       a file labelled with another pair (s0:c1,c2) is EACCES, AVC logged
#   e_*       two concurrent containers get different pairs
#   f_*       after exit no label reservation is left in the state root
#   g_*       selinux.mode: required runs under enforcing
#   off_*     selinux.mode: off runs without a container label
# Adjust the safe-run invocations in the "safe-run invocations" section.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
P=/payload
# knobs from run.sh (SELINUX_VM_* variables of the host)
[ -f $P/env ] && . $P/env
# bundles, volumes, profiles, outputs; container_var_lib_t (by its path) so
# that runc in container_engine_t may read the smoke bundle's config.json
T=/var/lib/containers/saferun-test
O=$T/out
STATE=/run/safe-run                # safe-run's state root as root
SR=/usr/local/bin/safe-run
CTX_RE='^system_u:system_r:container_t:s0:c[0-9]+,c[0-9]+$'
FILE_BASE=system_u:object_r:container_file_t
SHARED=$FILE_BASE:s0               # readable/writable by every container
OTHER=$FILE_BASE:s0:c1,c2          # "another container's" file
STEP_TIMEOUT=${STEP_TIMEOUT:-90}

pass() { echo "RESULT PASS $*"; }
fail() { echo "RESULT FAIL $*"; }
info() { echo "INFO $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
# ok RC NAME DETAIL: PASS if RC is 0. Call as `COND; ok $? NAME "..."`: $?
# must be the first word, expanded before any $(...) in DETAIL.
ok() { local rc=$1; if [ "$rc" = 0 ]; then pass "$2 ${3:-}"; else fail "$2 ${3:-}"; fi; return "$rc"; }

# -- AVC denials (no auditd: the kernel prints them; printk_ratelimit=0) ----
avc_all() { dmesg | grep -a 'avc: *denied' | sed -E 's/^\[[ 0-9.]+\] //'; }
avc_mark() { avc_all | wc -l; }
avc_since() { avc_all | tail -n +$(($1 + 1)); }
show_avc_since() {
  local d; d=$(avc_since "$1")
  [ -n "$d" ] && { echo "  AVC denials:"; echo "$d" | sed -E 's/audit\([0-9.:]+\): //; s/ pid=[0-9]+//; s/ ino=[0-9]+//' | sort | uniq -c | sed 's/^/   /'; }
  return 0
}

pair_of() { echo "$1" | sed -n 's/.*:s0:\(c[0-9]*,c[0-9]*\)$/\1/p'; }
valid_label() {   # a container_t label with two different categories
  echo "$1" | grep -Eq "$CTX_RE" || return 1
  local p; p=$(pair_of "$1"); [ "${p%,*}" != "${p#*,}" ]
}
file_label() { getfattr -n security.selinux --only-values "$1" 2>/dev/null | tr -d '\0'; }
kv() { sed -n "s/^$1=//p" "$2" | head -1; }  # kv KEY FILE

# The probe every container runs: key=value lines on stdout.
#   probe.sh NAME   (NAME names the file it creates on /vol)
write_probe() {
  cat > "$1" <<'EOF'
#!/bin/sh
echo "label=$(tr -d '\000' </proc/self/attr/current)"
# the tmpfs/devpts/mqueue filesystems mounted for the container (mountinfo
# root "/", i.e. not binds of host directories that live on a tmpfs, such
# as /run) and their context= option ("none" if absent)
awk '{ for (i = 7; i <= NF && $i != "-"; i++) ; print $5, $4, $(i+1), $(i+3) }' /proc/self/mountinfo |
while read -r mnt root fs so; do
  case "$fs" in tmpfs|devpts|mqueue)
    if [ "$root" != / ]; then echo "bind=$mnt $fs $root"; continue; fi
    c=$(echo ",$so" | sed -n 's/.*,context="\{0,1\}\([^",]*:s0[^"]*\)"\{0,1\}.*/\1/p')
    echo "mount=$mnt $fs ${c:-none}" ;;
  esac
done
if [ -d /vol ]; then
  if cat /vol/mine >/dev/null 2>&1; then echo "mine=ok"; else echo "mine=$(cat /vol/mine 2>&1 >/dev/null)"; fi
  if cat /vol/other >/dev/null 2>&1; then echo "other=READABLE"; else echo "other=$(cat /vol/other 2>&1 >/dev/null)"; fi
  if echo "made by $1" > "/vol/created-$1" 2>/dev/null; then echo "create=ok"; else echo "create=$(echo x 2>&1 >"/vol/created-$1")"; fi
fi
if [ -d /priv ]; then
  if echo "made by $1" > "/priv/created-$1" 2>/dev/null; then echo "priv_create=ok"; else echo "priv_create=$(echo x 2>&1 >"/priv/created-$1")"; fi
fi
[ -n "${2:-}" ] && sleep "$2"
echo "probe=done"
EOF
  chmod 0755 "$1"
}

# A shared volume: dir and "mine" at s0 (any container), "other" at c1,c2.
make_volume() {
  local v=$1
  rm -rf "$v"; mkdir -p "$v"; chmod 1777 "$v"
  echo "shared file" > "$v/mine"; echo "another container's file" > "$v/other"
  write_probe "$v/probe.sh"
  chmod 0644 "$v/mine" "$v/other"
  chcon -R "$SHARED" "$v" && chcon "$OTHER" "$v/other"
}

# check_probe PREFIX OUTFILE EXPECTED_LABEL(or "") VOLDIR NAME AVCMARK
# a: label, b: mount contexts, c: created file's label, d: other file + AVC
check_probe() {
  local pre=$1 out=$2 want=$3 vol=$4 name=$5 mark=$6 label pair bad=0 m
  label=$(kv label "$out")
  if [ -n "$want" ]; then
    [ "$label" = "$want" ]; ok $? "${pre}a_label" "in-container=$label expected=$want"
  else
    valid_label "$label"; ok $? "${pre}a_label" "in-container=$label (no expected label known; format check only)"
  fi
  pair=$(pair_of "$label")
  [ -n "$pair" ] || { fail "${pre}b_mounts no pair in the container's label, skipping b-d"; return; }
  m=$(grep '^mount=' "$out" | grep -E ' (tmpfs|devpts) ')
  if [ -z "$m" ]; then fail "${pre}b_mounts no tmpfs/devpts mount seen"; else
    while read -r line; do
      case "$line" in *" $FILE_BASE:s0:$pair") ;; *) bad=1; info "  unexpected: $line" ;; esac
    done <<<"$m"
    [ $bad = 0 ]; ok $? "${pre}b_mounts $(echo "$m" | wc -l) tmpfs/devpts mounts, all context=$FILE_BASE:s0:$pair"
  fi
  grep '^mount=' "$out" | grep ' mqueue ' | sed 's/^/INFO   /'
  if [ -n "$vol" ]; then
    local fl; fl=$(file_label "$vol/created-$name")
    [ "$(kv create "$out")" = ok ] && [ "$fl" = "$FILE_BASE:s0:$pair" ]
    ok $? "${pre}c_created_file create=$(kv create "$out") label=$fl expected=$FILE_BASE:s0:$pair"
    [ "$(kv mine "$out")" = ok ]; ok $? "${pre}c_shared_readable shared (s0) file: $(kv mine "$out")"
    local o d; o=$(kv other "$out")
    local i; for i in 1 2 3 4 5 6 7 8 9 10; do   # kauditd prints asynchronously
      d=$(avc_since "$mark" | grep -F "tcontext=$OTHER" | grep -F "scontext=system_u:system_r:container_t:s0:$pair" | head -1)
      [ -n "$d" ] && break; sleep 0.3
    done
    case "$o" in *"Permission denied"*) [ -n "$d" ] ;; *) false ;; esac
    ok $? "${pre}d_other_pair_denied read of a s0:c1,c2 file: ${o:-<nothing>}; AVC: ${d:-none logged}"
  fi
}

echo "----- guest-run begin -----"
info "kernel=$(uname -r) enforce=$(cat /sys/fs/selinux/enforce) policy=$(awk -F= '$1=="SELINUXTYPE"{print $2}' /etc/selinux/config) runc=$(runc --version | head -1)"
[ "$(cat /sys/fs/selinux/enforce 2>/dev/null)" = "${EXPECT_ENFORCE:-1}" ]
ok $? vm_enforcing "enforce=$(cat /sys/fs/selinux/enforce 2>/dev/null) mls=$(cat /sys/fs/selinux/mls 2>/dev/null)"
[ "$(getenforce)" = Enforcing ] || info "getenforce=$(getenforce)"

mkdir -p "$T" "$O"
restorecon -R /var/lib/containers
POLROOT=/etc/selinux/$(awk -F= '$1=="SELINUXTYPE"{print $2}' /etc/selinux/config)
# lxc_contexts: every context go-selinux reads must be valid in the policy
bad=""
for k in process content file ro_file; do
  c=$(sed -n "s/^$k *= *\"\(.*\)\"/\1/p" "$POLROOT/contexts/lxc_contexts")
  compute_av "$c" "$c" file >/dev/null 2>&1 || bad="$bad $k=$c"
done
[ -z "$bad" ]; ok $? lxc_contexts_valid "$POLROOT/contexts/lxc_contexts${bad:+ invalid:$bad}"

# ====================================================================
# smoke: runc run with a hand-made labelled bundle (VM plumbing only)
# ====================================================================
smoke_runc() {
  local B=$T/smoke pair=c123,c456 mark t0
  rm -rf "$B"; mkdir -p "$B/rootfs"/{bin,proc,sys,dev,tmp,vol,etc}
  cp /bin/busybox "$B/rootfs/bin/busybox"
  for a in sh cat tr sed echo sleep grep; do ln -s busybox "$B/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/:/bin/sh' > "$B/rootfs/etc/passwd"
  chcon -R "$FILE_BASE:s0:$pair" "$B/rootfs"          # what an engine does
  make_volume "$T/vol-smoke"
  cat > "$B/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "/vol/probe.sh", "smoke"],
    "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true,
    "selinuxLabel": "system_u:system_r:container_t:s0:$pair"
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "smoke",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=8m"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/vol", "type": "bind", "source": "$T/vol-smoke", "options": ["rbind", "rw"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    "mountLabel": "$FILE_BASE:s0:$pair"
  }
}
EOF
  mark=$(avc_mark); t0=$(now)
  # stdio through a pipe: the container may use its engine's pipes
  timeout -k 5 "$STEP_TIMEOUT" runc run --bundle "$B" smoke </dev/null 2>&1 | cat > "$O/smoke.out"
  local rc=${PIPESTATUS[0]}
  runc delete -f smoke >/dev/null 2>&1
  [ $rc = 0 ] && grep -q '^probe=done' "$O/smoke.out"
  ok $? smoke_runc_run "runc rc=$rc in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s" || { sed 's/^/  | /' "$O/smoke.out"; show_avc_since "$mark"; }
  check_probe smoke_ "$O/smoke.out" "system_u:system_r:container_t:s0:$pair" "$T/vol-smoke" smoke "$mark"
}
smoke_runc

# ====================================================================
# safe-run
# ====================================================================
install -m 0755 "$P/bin/safe-run" "$P/bin/safe-run-init" /usr/local/bin/
restorecon -F /usr/local/bin/safe-run /usr/local/bin/safe-run-init
if [ -n "${INIT_LABEL:-}" ]; then
  # emulate an installation that labels the init (SELINUX_VM_INIT_LABEL)
  chcon "$INIT_LABEL" /usr/local/bin/safe-run-init
  info "INIT_LABEL: safe-run-init relabelled $INIT_LABEL by the harness (not by safe-run)"
fi
info "installed $(ls -Z /usr/local/bin/safe-run /usr/local/bin/safe-run-init | tr '\n' ' ')"
info "safe-run version: $($SR version 2>&1 | tr '\n' ' ')"

# --- safe-run invocations (adjust here when the CLI changes) ---------
mkdir -p "$T/profiles"
VOL=$T/vol
make_volume "$VOL"
# profile PATH MODE: the default profile + a writable bind of $VOL on /vol
profile() {
  cat > "$1" <<EOF
extends: default
binds:
  - source: $VOL
    target: /vol
    writable: true
EOF
  case "$2" in
    "") ;;
    off) printf 'selinux:\n  mode: off\nunsafe:\n  disable-selinux: true\n' >> "$1" ;;
    *) printf 'selinux:\n  mode: %s\n' "$2" >> "$1" ;;
  esac
}
profile "$T/profiles/auto.yaml" ""            # mode unset: auto
# + a bind that safe-run relabels with the container's own pair
PRIV=$T/vol-private
mkdir -p "$PRIV"; chmod 1777 "$PRIV"
cat >> "$T/profiles/auto.yaml" <<EOF
  - source: $PRIV
    target: /priv
    writable: true
    relabel: private
EOF
profile "$T/profiles/required.yaml" required
profile "$T/profiles/off.yaml" off
# busybox directory rootfs, labelled shared (any container may read it)
RFS=$T/rootfs
mkdir -p "$RFS"/{bin,proc,sys,dev,tmp,vol,etc}
cp /bin/busybox "$RFS/bin/busybox"
for a in sh cat tr sed echo sleep grep; do ln -sf busybox "$RFS/bin/$a"; done
chcon -R "$SHARED" "$RFS"

# sr NAME SAFE-RUN-ARGS...: run safe-run; stdout -> $O/NAME.out, stderr ->
# $O/NAME.err (both through pipes, as from a terminal-less caller), rc ->
# $O/NAME.rc. Bounded by STEP_TIMEOUT.
sr() {
  local name=$1; shift
  echo "+ safe-run $*" > "$O/$name.cmd"
  { timeout -k 5 "$STEP_TIMEOUT" "$SR" "$@" </dev/null 2>&1 1>&3 3>&- | cat > "$O/$name.err"
    echo "${PIPESTATUS[0]}" > "$O/$name.rc"; } 3>&1 | cat > "$O/$name.out"
  return "$(cat "$O/$name.rc")"
}
show_run() {   # show_run NAME MARK: the command, its output and the AVCs
  echo "  $(cat "$O/$1.cmd")  -> rc=$(cat "$O/$1.rc")"
  sed 's/^/  out| /' "$O/$1.out"; sed 's/^/  err| /' "$O/$1.err"
  show_avc_since "$2"
}
# the label safe-run reports for a run, if any (log line or error text)
reported_label() { grep -Eo 'system_u:system_r:container_t:s0:c[0-9]+,c[0-9]+' "$O/$1.err" | head -1; }

# --- does this build allocate labels at all? ------------------------------
$SR spec default > "$O/spec.json" 2> "$O/spec.err"; rc=$?
spec_label=$(grep -o '"selinuxLabel": *"[^"]*"' "$O/spec.json" | sed 's/.*: *"\(.*\)"/\1/')
spec_mount=$(grep -o '"mountLabel": *"[^"]*"' "$O/spec.json" | sed 's/.*: *"\(.*\)"/\1/')
if [ -z "$spec_label" ]; then
  fail "saferun_spec_label 'safe-run spec default' (rc=$rc) has no process.selinuxLabel: this safe-run build has no SELinux label support yet; safe-run checks skipped"
  sed 's/^/  err| /' "$O/spec.err"
else
  valid_label "$spec_label" && [ "$spec_mount" = "$FILE_BASE:s0:$(pair_of "$spec_label")" ]
  ok $? saferun_spec_label "process.selinuxLabel=$spec_label linux.mountLabel=$spec_mount"

  # a-d, host view (rootfs: host) --------------------------------------
  mark=$(avc_mark)
  sr host --log-level info run --profile "$T/profiles/auto.yaml" -- /bin/sh /vol/probe.sh host
  ok $? host_run "rootfs: host, mode unset (auto)" || show_run host "$mark"
  check_probe host_ "$O/host.out" "$(reported_label host)" "$VOL" host "$mark"
  # c2: bind with relabel: private
  pair=$(pair_of "$(kv label "$O/host.out")")
  dl=$(file_label "$PRIV"); fl=$(file_label "$PRIV/created-host")
  [ -n "$pair" ] && [ "$(kv priv_create "$O/host.out")" = ok ] && [ "$dl" = "$FILE_BASE:s0:$pair" ] && [ "$fl" = "$FILE_BASE:s0:$pair" ]
  ok $? host_c_relabel_private "bind relabel: private: dir=$dl file=$fl write=$(kv priv_create "$O/host.out") expected=$FILE_BASE:s0:$pair"

  # a-b with a directory rootfs ------------------------------------------
  mark=$(avc_mark)
  sr dir --log-level info run --profile "$T/profiles/auto.yaml" --rootfs "$RFS" -- /bin/sh /vol/probe.sh dir
  ok $? dir_run "--rootfs (busybox dir labelled $SHARED)" || show_run dir "$mark"
  check_probe dir_ "$O/dir.out" "$(reported_label dir)" "$VOL" dir "$mark"

  # e, g and off use the directory rootfs: they are about allocation, not
  # about the host view, which a-d cover.
  # e: two at once -------------------------------------------------------
  mark=$(avc_mark)
  sr conc1 run --profile "$T/profiles/auto.yaml" --rootfs "$RFS" -- /bin/sh /vol/probe.sh conc1 6 & p1=$!
  sr conc2 run --profile "$T/profiles/auto.yaml" --rootfs "$RFS" -- /bin/sh /vol/probe.sh conc2 6 & p2=$!
  # while both sleep: the live container processes and the reservations
  both=""
  for i in $(seq 1 120); do
    live=$(ps -eo label= | grep -Eo 'container_t:s0:c[0-9]+,c[0-9]+' | sort -u)
    [ "$(echo "$live" | grep -c .)" -ge 2 ] && { both=$live; break; }
    kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null || break
    sleep 0.5
  done
  resv=$(grep -rlsxE 'system_u:system_r:container_t:s0:c[0-9]+,c[0-9]+' "$STATE" 2>/dev/null)
  info "while both run: live labels: $(echo $both); reservation files: $(echo $resv)"
  wait $p1; rc1=$?; wait $p2; rc2=$?
  l1=$(kv label "$O/conc1.out"); l2=$(kv label "$O/conc2.out")
  [ $rc1 = 0 ] && [ $rc2 = 0 ] && valid_label "$l1" && valid_label "$l2" && [ "$(pair_of "$l1")" != "$(pair_of "$l2")" ] && [ -n "$both" ]
  ok $? e_concurrent_pairs "run1=$l1 (rc=$rc1) run2=$l2 (rc=$rc2), seen running together: $(echo $both)" || { show_run conc1 "$mark"; show_run conc2 "$mark"; }
  [ "$(echo "$resv" | grep -c .)" -ge 2 ]
  ok $? e_reservations_while_running "$(echo "$resv" | grep -c .) reservation file(s) in $STATE while both ran: $(echo $resv)"

  # g: selinux.mode: required ------------------------------------------
  mark=$(avc_mark)
  sr required --log-level info run --profile "$T/profiles/required.yaml" --rootfs "$RFS" -- /bin/sh /vol/probe.sh required
  rc=$?; l=$(kv label "$O/required.out")
  [ $rc = 0 ] && valid_label "$l"
  ok $? g_required_enforcing "selinux.mode: required -> rc=$rc label=$l" || show_run required "$mark"

  # off: no label ---------------------------------------------------------
  mark=$(avc_mark)
  sr off --log-level info run --profile "$T/profiles/off.yaml" --rootfs "$RFS" -- /bin/sh /vol/probe.sh off
  rc=$?; l=$(kv label "$O/off.out")
  [ $rc = 0 ] && [ -n "$l" ] && ! valid_label "$l"
  ok $? off_no_label "selinux.mode: off -> rc=$rc label=${l:-<none>} (expected: no container_t pair)" || show_run off "$mark"

  # f: reservations released -------------------------------------------
  left=$(grep -rlsxE 'system_u:system_r:container_t:s0:c[0-9]+,c[0-9]+' "$STATE" 2>/dev/null)
  [ -z "$left" ]; ok $? f_pairs_released "label reservations left in $STATE after every run ended: ${left:-none}" || \
    for f in $left; do info "  $f: $(cat "$f")"; done
  info "state root after the runs: $(find "$STATE" -maxdepth 2 | tr '\n' ' ')"
fi

# Every denial should be one the checks provoked on purpose (reads of the
# s0:c1,c2 file); anything else is a rule or label safe-run still needs.
unexpected=$(avc_all | grep -vF "tcontext=$OTHER")
[ -z "$unexpected" ]; ok $? no_unexpected_avc "$(echo "$unexpected" | grep -c .) denial(s) besides the provoked s0:c1,c2 reads"
echo "----- all AVC denials of this boot -----"
avc_all | sed -E 's/audit\([0-9.:]+\): //; s/ pid=[0-9]+//; s/ ino=[0-9]+//' | sort | uniq -c | sort -rn | head -60
info "avc_denied_total=$(avc_mark)"
# auditallow rules (debugging a policy module) log "avc: granted"
if dmesg | grep -aq 'avc: *granted'; then
  echo "----- AVC granted (auditallow), by source, target type, class, perms, name -----"
  dmesg | grep -a 'avc: *granted' | sed -E 's/.*granted +\{ ([^}]*)\} for .*(name|path)="?([^" ]*)"? .*scontext=[^:]*:[^:]*:([^:]*):.* tcontext=[^:]*:[^:]*:([^:]*):.* tclass=([a-z_]*).*/\4 -> \5:\6 { \1} \3/' | sort | uniq -c | sort -rn | head -60
fi
