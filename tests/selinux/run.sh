#!/bin/bash
# SELinux tests of safe-run in a VM whose kernel enforces SELinux (this
# host's kernel has SELinux compiled in but not active).
#
#   tests/selinux/run.sh          (root; what `make test-selinux` runs)
#
# 1. installs the host tools if missing (qemu-system-x86, debootstrap,
#    e2fsprogs, zstd), 2. builds or reuses the cached VM image
#    (build-image.sh), 3. builds the current safe-run and safe-run-init and
#    puts them with guest-run.sh on a small per-run ext4 disk, 4. boots the
#    VM once (TCG, disk snapshot=on, enforcing=1) and 5. counts the guest's
#    "RESULT PASS|FAIL name ..." lines. Prints "N passed, M failed"; exits 0
#    iff nothing failed and the guest finished.
#
# Env: SELINUX_VM_TIMEOUT (qemu wall-clock limit per boot, default 180 s),
#      SELINUX_VM_ENFORCING (1, or 0 for a permissive comparison run),
#      SELINUX_VM_SMP / SELINUX_VM_MEM (default 2 / 1536),
#      SELINUX_VM_LOG (where to keep the console log, default
#      /var/cache/safe-run-test/selinux-vm/last-console.log),
#      SELINUX_VM_VERBOSE=1 prints the whole console log,
#      SELINUX_VM_STEP_TIMEOUT limit of each container run in the guest (90 s),
#      SELINUX_VM_INIT_LABEL=CONTEXT makes the guest chcon safe-run-init to
#      CONTEXT (emulates an installation that labels it; default: no).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
TIMEOUT=${SELINUX_VM_TIMEOUT:-180}
ENFORCING=${SELINUX_VM_ENFORCING:-1}
CACHE=${SAFE_RUN_SELINUX_CACHE:-/var/cache/safe-run-test/selinux-vm}
LOG=${SELINUX_VM_LOG:-$CACHE/last-console.log}
log() { echo "[selinux-vm $(date +%T)] $*" >&2; }
die() { echo "selinux-vm: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot build the VM image)"

# ---- host tools -------------------------------------------------------------
need=""
for t in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap mkfs.ext4:e2fsprogs zstd:zstd; do
  command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
  log "installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; } || die "apt-get install$need failed"
fi

# ---- image (cached) ---------------------------------------------------------
t0=$(date +%s)
IMG=$("$HERE/build-image.sh" | tail -1) && [ -f "$IMG/ok" ] || die "building the VM image failed"
log "image $IMG ($(( $(date +%s) - t0 )) s)"

# ---- per-run payload disk ---------------------------------------------------
W=$(mktemp -d /tmp/safe-run-selinux.XXXXXX)
trap 'rm -rf "$W"' EXIT
P=$W/payload
mkdir -p "$P/bin"
log "building safe-run"
(cd "$REPO" && "$GO" build -tags urfave_cli_no_docs,osusergo -o "$P/bin/safe-run" ./cmd/safe-run) || die "go build safe-run failed"
(cd "$REPO" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$P/bin/safe-run-init" ./cmd/safe-run-init) || die "go build safe-run-init failed"
cp "$HERE/guest-run.sh" "$P/guest-run.sh"
{ echo "INIT_LABEL='${SELINUX_VM_INIT_LABEL:-}'"
  echo "STEP_TIMEOUT='${SELINUX_VM_STEP_TIMEOUT:-90}'"
  echo "EXPECT_ENFORCE='$ENFORCING'"; } > "$P/env"
mkfs.ext4 -q -F -L payload -d "$P" "$W/payload.img" 128M >/dev/null || die "mkfs.ext4 of the payload failed"

# ---- boot ---------------------------------------------------------------------
APPEND="console=ttyS0 root=/dev/vda rw security=selinux selinux=1 enforcing=$ENFORCING"
APPEND="$APPEND init=/sbin/saferun-selinux-init panic=-1 loglevel=4 saferun.timeout=$((TIMEOUT - 30))"
mkdir -p "$(dirname "$LOG")"
# KVM does not work on this host (PVM), so TCG (software emulation);
# -cpu host aborts here. One vCPU by default: with two, TCG has been seen
# to leave the guest in a soft lockup (both vCPUs stuck in runc) once in a
# while. A boot whose guest never reaches its end (an emulator hang, not a
# failed check) is retried once; a check that fails is never retried.
boot() {
  log "booting (TCG, enforcing=$ENFORCING, limit ${TIMEOUT}s); console log: $LOG"
  t1=$(date +%s)
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -M q35 \
    -m "${SELINUX_VM_MEM:-1536}" -smp "${SELINUX_VM_SMP:-1}" \
    -display none -nodefaults -no-reboot -serial stdio -nic none \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND" \
    -drive "file=$IMG/disk.img,if=virtio,format=raw,snapshot=on" \
    -drive "file=$W/payload.img,if=virtio,format=raw,readonly=on" \
    </dev/null 2>&1 | tr -d '\r' > "$LOG"
  qrc=${PIPESTATUS[0]}
  log "qemu rc=$qrc after $(( $(date +%s) - t1 )) s"
}
boot
if ! grep -aq '^----- done -----' "$LOG"; then
  log "the guest did not reach its end (emulator hang?); last console lines:"
  tail -8 "$LOG" | sed 's/^/  /'
  log "booting once more"
  boot
fi

# ---- results ------------------------------------------------------------------
if [ "${SELINUX_VM_VERBOSE:-0}" = 1 ]; then
  cat "$LOG"
else
  # the guest's own report: everything it printed between the markers,
  # without kernel messages
  sed -n '/^----- guest-run begin -----/,/^----- done -----/p' "$LOG" | grep -av '^\[ *[0-9]*\.[0-9]*\] '
fi
passed=$(grep -ac '^RESULT PASS ' "$LOG")
failed=$(grep -ac '^RESULT FAIL ' "$LOG")
if ! grep -aq '^----- done -----' "$LOG"; then
  echo "RESULT FAIL vm_finished: the guest did not reach the end (qemu rc=$qrc, timeout ${TIMEOUT}s); last console lines:"
  tail -25 "$LOG"
  failed=$((failed + 1))
fi
grc=$(sed -n 's/^INFO guest_run_rc=//p' "$LOG" | tail -1)
if [ -n "$grc" ] && [ "$grc" != 0 ]; then
  echo "RESULT FAIL guest_script: guest-run.sh exited $grc (a bug in the checks, or killed by its time limit)"
  failed=$((failed + 1))
fi
[ "$passed" -gt 0 ] || { echo "RESULT FAIL no_checks: no check passed"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
