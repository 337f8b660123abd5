#!/bin/bash
# Build (once) and cache the disk image of the SELinux test VM.
#
#   tests/selinux/build-image.sh        build if needed; print the image dir
#   tests/selinux/build-image.sh --dir  only print the dir the image would use
#
# The image is a Debian bookworm root with SELinux (refpolicy "default", MCS),
# the refpolicy container module (container_t, container_file_t,
# container_engine_t, container_engine_exec_t for runc) compiled from Debian's
# selinux-policy-src, runc, busybox-static, an lxc_contexts file for
# go-selinux, and the small test policy module saferuntest.te. It boots with
# init=/sbin/saferun-selinux-init (guest-init.sh): no systemd.
#
# Cache: $SAFE_RUN_SELINUX_CACHE (default /var/cache/safe-run-test/selinux-vm)
#   base-<hash>/rootfs  debootstrap + packages, keyed by the package list
#   img-<hash>/{vmlinuz,initrd.img,disk.img}  keyed by this script and every
#                       file that goes into the image; older img-* are removed.
# Only the image dir is printed on stdout; progress goes to stderr.
#
# Needs (root, Debian host): debootstrap e2fsprogs zstd (see run.sh, which
# installs them).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SAFE_RUN_SELINUX_CACHE:-/var/cache/safe-run-test/selinux-vm}
SUITE=bookworm

# Everything that ends up in the image, hashed into its cache key.
IMAGE_INPUTS=(build-image.sh guest-init.sh saferuntest.te lxc_contexts)
KEY=$(cd "$HERE" && cat "${IMAGE_INPUTS[@]}" | sha256sum | cut -c1-16)
OUT=$CACHE/img-$KEY
if [ "${1:-}" = --dir ]; then echo "$OUT"; exit 0; fi

log() { echo "[build-image $(date +%T)] $*" >&2; }

if [ -f "$OUT/ok" ]; then echo "$OUT"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "build-image.sh: must run as root (debootstrap, chroot, xattrs)" >&2; exit 1; }
for t in debootstrap mkfs.ext4 zstd chroot sha256sum; do
  command -v "$t" >/dev/null || { echo "build-image.sh: $t missing (apt-get install debootstrap e2fsprogs zstd)" >&2; exit 1; }
done
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9                                    # one build at a time
if [ -f "$OUT/ok" ]; then echo "$OUT"; exit 0; fi   # built while we waited

MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian

# ---- stage 1: base root (slow part: 2-5 min), cached by package list -------
PKGS=selinux-policy-default,selinux-utils,policycoreutils,runc,libseccomp2,linux-image-amd64,busybox-static,kmod,procps,initramfs-tools,attr,util-linux
DEV_PKGS="selinux-policy-dev selinux-policy-src checkpolicy make m4"
BKEY=$(echo "v1 $SUITE $PKGS $DEV_PKGS" | sha256sum | cut -c1-16)
BASE=$CACHE/base-$BKEY
if [ ! -f "$BASE/ok" ]; then
  rm -rf "$BASE"; mkdir -p "$BASE"
  log "debootstrap $SUITE from $MIRROR (first build only)"
  debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$BASE/rootfs" "$MIRROR" >"$BASE/debootstrap.log" 2>&1 \
    || { tail -20 "$BASE/debootstrap.log" >&2; exit 1; }
  cp /etc/resolv.conf "$BASE/rootfs/etc/resolv.conf" 2>/dev/null || true
  log "policy build tools + refpolicy source"
  chroot "$BASE/rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $DEV_PKGS >"$BASE/apt.log" 2>&1 \
    || { tail -20 "$BASE/apt.log" >&2; exit 1; }
  chroot "$BASE/rootfs" apt-get clean
  rm -f "$BASE/rootfs/etc/resolv.conf"
  touch "$BASE/ok"
fi
for old in "$CACHE"/base-*; do [ "$old" = "$BASE" ] || rm -rf "$old"; done

# ---- stage 2: policy modules, guest files, labels, disk image --------------
TMP=$CACHE/img-$KEY.tmp
rm -rf "$TMP"; mkdir -p "$TMP"
R=$TMP/rootfs
cleanup() { mountpoint -q "$R/proc" 2>/dev/null && umount "$R/proc"; rm -rf "$TMP"; }
trap cleanup EXIT
log "copy base root"
cp -a "$BASE/rootfs" "$R"

POLROOT=/etc/selinux/$(awk -F= '$1=="SELINUXTYPE"{print $2}' "$R/etc/selinux/config")
[ "$POLROOT" != /etc/selinux/ ] || { echo "no SELINUXTYPE in the guest's /etc/selinux/config" >&2; exit 1; }
log "policy root $POLROOT"

log "compile refpolicy's container module (not in Debian's binary policy)"
mkdir -p "$R/root/pol"
tar --zstd -xf "$R/usr/src/selinux-policy-src.tar.zst" -C "$R/root/pol" --strip-components=4 \
  selinux-policy-src/policy/modules/services/container.te \
  selinux-policy-src/policy/modules/services/container.fc
cp "$HERE/saferuntest.te" "$R/root/pol/saferuntest.te"
# (container.if is already among the devel headers.) Compile both modules and
# install them in one transaction (each semodule -i rebuilds the policy).
chroot "$R" sh -c 'cd /root/pol && make -s -f /usr/share/selinux/devel/Makefile container.pp saferuntest.pp >build.log 2>&1 || { cat build.log; exit 1; }
  semodule -i container.pp -i saferuntest.pp' >&2
chroot "$R" semodule -l | grep -qx container || { echo "container module not installed" >&2; exit 1; }
chroot "$R" semodule -l | grep -qx saferuntest || { echo "saferuntest module not installed" >&2; exit 1; }

log "guest configuration"
# the kernel command line (enforcing=1) decides; permissive here only
# matters if the image is booted without it
sed -i 's/^SELINUX=.*/SELINUX=permissive/' "$R/etc/selinux/config"
install -m 0644 "$HERE/lxc_contexts" "$R$POLROOT/contexts/lxc_contexts"
install -m 0755 "$HERE/guest-init.sh" "$R/sbin/saferun-selinux-init"
echo saferun-selinux > "$R/etc/hostname"
mkdir -p "$R/payload"                       # the per-run disk is mounted here
cat > "$R/etc/fstab" <<'EOF'
/dev/vda / ext4 rw 0 1
EOF
# Bundles and volumes of the tests live here; run-time labels come from the
# payload script.
mkdir -p "$R/var/lib/saferun-test"
# no need to keep the 40 MB of policy source in the image
rm -f "$R/usr/src/selinux-policy-src.tar.zst"

log "label the tree offline (setfiles in the chroot; /proc for libselinux)"
mount -t proc proc "$R/proc"
chroot "$R" setfiles -F "$POLROOT/contexts/files/file_contexts" / 2>"$TMP/setfiles.log" || true
umount "$R/proc"
lab=$(chroot "$R" sh -c 'getfattr -n security.selinux --only-values "$(command -v runc)"' 2>/dev/null | tr -d '\0' || true)
log "runc labelled: ${lab:-?}"
# refpolicy names runc's type container_engine_exec_t (Fedora's
# container-selinux: container_runtime_exec_t)
case "$lab" in *:container_engine_exec_t:*|*:container_runtime_exec_t:*) ;; *) echo "runc is not labelled as a container runtime ($lab)" >&2; exit 1 ;; esac

log "kernel, initrd, ext4 image (mkfs.ext4 -d keeps the xattrs)"
cp "$(ls "$R"/boot/vmlinuz-* | sort -V | tail -1)" "$TMP/vmlinuz"
cp "$(ls "$R"/boot/initrd.img-* | sort -V | tail -1)" "$TMP/initrd.img"
mkfs.ext4 -q -F -L saferunsel -d "$R" "$TMP/disk.img" 3G >/dev/null
rm -rf "$R"
touch "$TMP/ok"
rm -rf "$OUT"; mv "$TMP" "$OUT"
trap - EXIT
for old in "$CACHE"/img-*; do [ "$old" = "$OUT" ] || rm -rf "$old"; done
log "done: $OUT"
echo "$OUT"
