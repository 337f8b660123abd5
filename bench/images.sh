#!/usr/bin/env bash
# bench/images.sh: images side by side (docs/performance.md, "Images").
#
#   sudo bench/images.sh                 # 20 rounds each part
#   sudo ROUNDS=15 JSON=/tmp/img bench/images.sh   # keeps /tmp/img-{start,pull}.json
#
# Environment: ROUNDS (20), WARMUP (2), JSON (prefix for the samples),
# LAYERS (5) and LAYER_MB (4): the data layers of the pull image,
# RUNC (runc on PATH), GO (go on PATH, else /usr/local/go/bin/go).
#
# Part 1, start from a cached image: one busybox-static image, built by
# bench/imagebuild as a docker-archive, loaded once into a private safe-run
# store (`safe-run load`) and a private podman store (`podman load`).
#   true             /bin/true: the fork+exec floor
#   safe-run         safe-run --state-dir S run --name srimg{i} IMAGE /bin/true
#   podman-hardened  podman run --rm with safe-run's controls, IMAGE /bin/true
#   podman           plain podman run --rm IMAGE /bin/true (only the rlimits
#                    this host needs)
# Target: podman-hardened / safe-run >= 4x (paired median of wall ratios).
#
# Part 2, pull + unpack: busybox plus LAYERS layers of LAYER_MB MiB of
# incompressible data each, pushed to Debian's docker-registry on a free
# 127.0.0.1 port (started here, stopped at the end). Each row runs a small
# wrapper script (bash: mkdir DIR, then the tools) into a directory unique
# to the run; every directory is removed after the measurement, outside
# the timing.
#   safe-run-pull    safe-run pull --data-dir DIR --insecure-registry H H/REF
#   skopeo+umoci     skopeo copy --src-tls-verify=false docker://H/REF oci:DIR/oci:tag
#                    && umoci unpack --image DIR/oci:tag DIR/bundle  (rootful)
#   skopeo           the skopeo copy alone (to split the pair)
#
# podman runs with private --root/--runroot/--tmpdir/--network-config-dir
# and runc (this host's crun refuses the cgroup v1 hybrid layout). What
# podman, skopeo and netavark create outside the temp dir and was not
# there before (/var/lib/containers/cache, /run/containers/networks,
# libpod_parent cgroups, netavark's iptables chains, ip_forward) is
# removed or restored at the end.
set -euo pipefail

ROUNDS=${ROUNDS:-20}
WARMUP=${WARMUP:-2}
JSON=${JSON:-}
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-4}

die() { echo "images.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root: sudo bench/images.sh"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNC=${RUNC:-$(command -v runc || true)}
[[ -x $RUNC ]] || die "runc not found (set RUNC=/path/to/runc)"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || die "go not found (set GO=/path/to/go)"
need=()
for p in podman:podman skopeo:skopeo umoci:umoci docker-registry:docker-registry jq:jq curl:curl ss:iproute2; do
	command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	apt-get install -y "${need[@]}" >/dev/null || { apt-get update >/dev/null && apt-get install -y "${need[@]}" >/dev/null; }
fi

# Host-global state that podman, skopeo and netavark may create: note what
# exists now, so that the cleanup removes only what this run added.
had() { [[ -e $1 ]] && echo 1 || echo 0; }
had_varlib=$(had /var/lib/containers) had_cache=$(had /var/lib/containers/cache)
had_runc=$(had /run/containers) had_runnet=$(had /run/containers/networks)
had_runlibpod=$(had /run/libpod) had_etcnet=$(had /etc/containers/networks)
had_cg=$(had /sys/fs/cgroup/pids/libpod_parent)
ipfwd=$(cat /proc/sys/net/ipv4/ip_forward)
nft_before=$(nft list tables 2>/dev/null || true)
ipt_before=$( (iptables-save 2>/dev/null || true) | grep -c NETAVARK || true)

tmp=$(mktemp -d /tmp/safe-run-bench-img.XXXXXX)
chmod 0755 "$tmp"
bin=$tmp/bin
S=$tmp/state      # safe-run --state-dir
D=$tmp/store      # safe-run image store (SAFE_RUN_DATA_DIR) for part 1
PD=$tmp/podman    # podman's private root, runroot, tmpdir, network config
PULLS=$tmp/pulls  # one directory per timed pull
REGDIR=$tmp/registry
regpid=
measured=0

PM=(podman --root "$PD/root" --runroot "$PD/runroot" --tmpdir "$PD/tmp" --network-config-dir "$PD/net"
	--volumepath "$PD/vol" --runtime "$RUNC" --cgroup-manager cgroupfs --storage-driver overlay)

cleanup() {
	local status=$?
	set +e
	if [[ -n $regpid ]]; then
		kill "$regpid" 2>/dev/null
		wait "$regpid" 2>/dev/null
	fi
	if [[ -d $PD/root ]]; then
		"${PM[@]}" rm -af >/dev/null 2>&1
		"${PM[@]}" rmi -af >/dev/null 2>&1
	fi
	for id in $("$RUNC" --root "$S/runc" list -q 2>/dev/null); do
		"$RUNC" --root "$S/runc" delete --force "$id"
	done
	# Never rm -rf through a mount.
	if awk -v t="$tmp" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "images.sh: something is still mounted under $tmp; left it in place" >&2
		status=1
	else
		rm -rf "$tmp"
	fi
	# What podman/skopeo/netavark added outside the temp dir.
	((had_cache)) || rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
	((had_cache)) || rmdir /var/lib/containers/cache 2>/dev/null
	((had_varlib)) || rmdir /var/lib/containers 2>/dev/null
	((had_runnet)) || rm -f /run/containers/networks/ipam.db
	((had_runnet)) || rmdir /run/containers/networks 2>/dev/null
	((had_runc)) || rmdir /run/containers 2>/dev/null
	((had_runlibpod)) || rm -rf /run/libpod
	((had_etcnet)) || rm -f /etc/containers/networks/netavark.lock
	((had_etcnet)) || rmdir /etc/containers/networks 2>/dev/null
	if ((!had_cg)); then
		for h in /sys/fs/cgroup/*/libpod_parent; do
			[[ -d $h ]] || continue
			[[ -d $h/conmon ]] && rmdir "$h/conmon"
			rmdir "$h"
		done
	fi
	if ((ipt_before == 0)) && command -v iptables >/dev/null; then
		local t line c
		for t in filter nat; do
			iptables -t "$t" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j NETAVARK' | while read -r line; do
				eval "iptables -t $t ${line/#-A/-D}"
			done
			for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^NETAVARK/ { print $2 }'); do
				iptables -t "$t" -F "$c"
			done
			for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^NETAVARK/ { print $2 }'); do
				iptables -t "$t" -X "$c"
			done
			# iptables-nft created the table for netavark: drop it again.
			if ! grep -qx "table ip $t" <<<"$nft_before" && nft list table ip "$t" >/dev/null 2>&1 &&
				[[ $(iptables -t "$t" -S | grep -c '^-A') == 0 ]]; then
				nft delete table ip "$t"
			fi
		done
	fi
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$ipfwd" ]] || echo "$ipfwd" >/proc/sys/net/ipv4/ip_forward
	if ((measured && status == 0)); then
		local bad=()
		[[ -e $tmp ]] && bad+=("$tmp")
		[[ -n $regpid ]] && kill -0 "$regpid" 2>/dev/null && bad+=("docker-registry pid $regpid")
		((had_varlib)) || [[ ! -e /var/lib/containers ]] || bad+=(/var/lib/containers)
		((had_runc)) || [[ ! -e /run/containers ]] || bad+=(/run/containers)
		((had_runlibpod)) || [[ ! -e /run/libpod ]] || bad+=(/run/libpod)
		((had_etcnet)) || [[ ! -e /etc/containers/networks ]] || bad+=(/etc/containers/networks)
		((had_cg)) || [[ ! -e /sys/fs/cgroup/pids/libpod_parent ]] || bad+=(libpod_parent cgroups)
		((ipt_before)) || [[ $( (iptables-save 2>/dev/null || true) | grep -c NETAVARK) == 0 ]] || bad+=(NETAVARK iptables rules)
		[[ $(nft list tables 2>/dev/null || true) == "$nft_before" ]] || bad+=("nft tables: $(nft list tables | tr '\n' ' ')")
		[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$ipfwd" ]] || bad+=(net.ipv4.ip_forward)
		if ((${#bad[@]})); then
			echo "images.sh: left behind: ${bad[*]}" >&2
			status=1
		else
			echo "leftovers: none (temp dir $tmp removed, registry stopped, no containers or cgroups, podman/netavark host state as before)"
		fi
	fi
	exit "$status"
}
trap cleanup EXIT

echo "== build ($repo)" >&2
mkdir -p "$bin"
(
	cd "$repo"
	# the shipped binaries, built exactly as `make build` builds them
	make -s BIN="$bin" GO="$GO" build >&2
	"$GO" build -o "$bin/abtime" ./bench/abtime
	"$GO" build -o "$bin/imagebuild" ./bench/imagebuild
)
SR=$bin/safe-run
mkdir -m 0700 "$S" "$PD" "$PULLS"
export SAFE_RUN_DATA_DIR=$D

# paired ROUNDFILE A B: median over rounds of A/B wall (and cpu) ratios.
paired() {
	jq -r --arg a "$2" --arg b "$3" '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		[.samples[] | select(.round >= 0)] | group_by(.round) | map(map({(.name): .}) | add)
		| [(map(.[$a].wall_ms / .[$b].wall_ms) | median), (map(.[$a].cpu_ms / .[$b].cpu_ms) | median),
		   (map(.[$a].wall_ms) | median), (map(.[$b].wall_ms) | median)]
		| map(. * 100 | round / 100) | @tsv' "$1"
}

# ---------------------------------------------------------------- part 1
IMG=example.com/bench/busybox:1
echo "== part 1: image $IMG (docker-archive)" >&2
"$bin/imagebuild" -archive "$tmp/busybox.tar" -tag "$IMG" >&2
"$SR" load "$tmp/busybox.tar" >/dev/null
"${PM[@]}" load -q -i "$tmp/busybox.tar" >/dev/null

HARD=(--cap-drop all --security-opt no-new-privileges --read-only --pids-limit 256 --memory 512m
	--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
PLAIN=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

echo "== verify each start once" >&2
"$SR" --state-dir "$S" run "$IMG" /bin/true </dev/null || die "safe-run run IMAGE failed"
"${PM[@]}" run --rm "${HARD[@]}" "$IMG" /bin/true </dev/null || die "podman run (hardened) failed"
"${PM[@]}" run --rm "${PLAIN[@]}" "$IMG" /bin/true </dev/null || die "podman run failed"
echo "-- inside each (uid, caps, NoNewPrivs, seccomp, rlimits)" >&2
probe='id; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; grep -E "open files|processes" /proc/self/limits'
for side in safe-run podman-hardened podman; do
	echo "   [$side]" >&2
	case $side in
	safe-run) "$SR" --state-dir "$S" run "$IMG" sh -c "$probe" ;;
	podman-hardened) "${PM[@]}" run --rm "${HARD[@]}" "$IMG" sh -c "$probe" ;;
	podman) "${PM[@]}" run --rm "${PLAIN[@]}" "$IMG" sh -c "$probe" ;;
	esac </dev/null 2>&1 | sed 's/^/     /' >&2
done

echo "== part 1: $ROUNDS rounds (+$WARMUP warm-up); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start_json=$tmp/start.json
echo "### part 1: start from a cached image"
echo
"$bin/abtime" -rounds "$ROUNDS" -warmup "$WARMUP" -baseline safe-run -json "$start_json" \
	-ratio podman-hardened/safe-run -ratio podman/safe-run -ratio podman/podman-hardened \
	"true=/bin/true" \
	"safe-run=$SR --state-dir $S run --name srimg{i} $IMG /bin/true" \
	"podman-hardened=${PM[*]} run --rm ${HARD[*]} $IMG /bin/true" \
	"podman=${PM[*]} run --rm ${PLAIN[*]} $IMG /bin/true"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- part 2
echo "== part 2: registry" >&2
port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	[[ -z $(ss -Htln "sport = :$p") ]] && { port=$p; break; }
done
[[ -n $port ]] || die "no free port"
H=127.0.0.1:$port
mkdir -p "$REGDIR"
cat >"$REGDIR/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGDIR/storage
http:
  addr: $H
EOF
docker-registry serve "$REGDIR/config.yml" >"$REGDIR/log" 2>&1 &
regpid=$!
for _ in $(seq 100); do
	curl -fs "http://$H/v2/" >/dev/null && break
	kill -0 "$regpid" 2>/dev/null || die "docker-registry exited: $(cat "$REGDIR/log")"
	sleep 0.1
done
curl -fs "http://$H/v2/" >/dev/null || die "docker-registry does not answer on $H"
REF=bench/data:1
echo "== part 2: image $H/$REF: busybox + $LAYERS x $LAYER_MB MiB" >&2
"$bin/imagebuild" -layers "$LAYERS" -layer-mb "$LAYER_MB" -push "$H/$REF" -insecure >&2

# The wrappers: $1 is a directory unique to the run; each creates it (empty).
cat >"$tmp/pull-safe-run.sh" <<EOF
#!/bin/bash
set -e
mkdir -m 0700 "\$1"
exec $SR pull --data-dir "\$1" --insecure-registry $H $H/$REF >/dev/null
EOF
cat >"$tmp/pull-skopeo-umoci.sh" <<EOF
#!/bin/bash
set -e
mkdir -m 0700 "\$1"
skopeo copy -q --src-tls-verify=false docker://$H/$REF "oci:\$1/oci:tag"
exec umoci unpack --image "\$1/oci:tag" "\$1/bundle" >/dev/null
EOF
cat >"$tmp/pull-skopeo.sh" <<EOF
#!/bin/bash
set -e
mkdir -m 0700 "\$1"
exec skopeo copy -q --src-tls-verify=false docker://$H/$REF "oci:\$1/oci:tag"
EOF
chmod 0755 "$tmp"/pull-*.sh

echo "== verify each pull once (same file content in both trees)" >&2
"$tmp/pull-safe-run.sh" "$PULLS/verify-sr" 2>/dev/null || die "safe-run pull failed"
"$tmp/pull-skopeo-umoci.sh" "$PULLS/verify-su" || die "skopeo copy + umoci unpack failed"
trees=("$PULLS"/verify-sr/rootfs/*)
[[ ${#trees[@]} == 1 ]] || die "safe-run store holds ${#trees[@]} trees"
for f in bin/busybox "data/layer$LAYERS.bin"; do
	cmp -s "${trees[0]}/$f" "$PULLS/verify-su/bundle/rootfs/$f" || die "$f differs between the two unpacked trees"
done
du -sh "$PULLS/verify-sr" "$PULLS/verify-su/oci" "$PULLS/verify-su/bundle" | sed 's/^/   /' >&2
rm -rf "$PULLS"/verify-*

echo "== part 2: $ROUNDS rounds (+$WARMUP warm-up); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
pull_json=$tmp/pull.json
echo
echo "### part 2: pull + unpack, $LAYERS x $LAYER_MB MiB + busybox, from docker-registry on 127.0.0.1"
echo
"$bin/abtime" -rounds "$ROUNDS" -warmup "$WARMUP" -baseline safe-run-pull -json "$pull_json" \
	-ratio skopeo+umoci/safe-run-pull -ratio skopeo/safe-run-pull \
	"safe-run-pull=$tmp/pull-safe-run.sh $PULLS/sr-{i}" \
	"skopeo+umoci=$tmp/pull-skopeo-umoci.sh $PULLS/su-{i}" \
	"skopeo=$tmp/pull-skopeo.sh $PULLS/sk-{i}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrappers:"
for w in "$tmp"/pull-*.sh; do
	echo "--- ${w##*/}"
	sed 1,2d "$w"
done
n=$(find "$PULLS" -mindepth 1 -maxdepth 1 | wc -l)
rm -rf "${PULLS:?}"/*
echo "(removed the $n pull directories after the measurement)"

if [[ -n $JSON ]]; then
	cp "$start_json" "$JSON-start.json"
	cp "$pull_json" "$JSON-pull.json"
fi

# ---------------------------------------------------------------- targets
echo
read -r r rc mh ms < <(paired "$start_json" podman-hardened safe-run)
read -r rp rpc mp _ < <(paired "$start_json" podman safe-run)
read -r pr prc msu msr < <(paired "$pull_json" skopeo+umoci safe-run-pull)
met="NOT met"
awk -v r="$r" 'BEGIN { exit !(r >= 4) }' && met=met
echo "targets:"
echo "  podman-hardened / safe-run, start from a cached image, paired median wall ratio: ${r}x (cpu ${rc}x; medians ${mh} vs ${ms} ms); target >= 4x: $met"
echo "  podman (plain) / safe-run: ${rp}x (cpu ${rpc}x; median ${mp} ms), for reference"
echo "  skopeo+umoci / safe-run pull, pull + unpack, paired median wall ratio: ${pr}x (cpu ${prc}x; medians ${msu} vs ${msr} ms)"

# ---------------------------------------------------------------- leftovers
left=$(find "$S/bundles" "$S/runc" -mindepth 1 2>/dev/null)
[[ -z $left ]] || die "safe-run left state behind in $S: $left"
[[ -z $("${PM[@]}" ps -aq) ]] || die "podman left containers in $PD"
cg=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d \( -path '*/safe-run/srimg*' -o -path '*/libpod_parent/libpod-*' \) 2>/dev/null || true)
[[ -z $cg ]] || die "container cgroups left behind: $cg"
measured=1 # the cleanup checks the rest and prints "leftovers: none"
