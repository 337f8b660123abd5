#!/usr/bin/env bash
# bench/startup.sh: whole-process start of safe-run side by side with bare
# runc running the identical config.json (docs/performance.md).
#
#   sudo bench/startup.sh                # 40 rounds
#   sudo ROUNDS=30 JSON=/tmp/s.json bench/startup.sh
#
# Environment: ROUNDS (40), WARMUP (3), JSON (write every sample there),
# RUNC (runc on PATH), GO (go on PATH, else /usr/local/go/bin/go).
#
# Rows (one start each per round, fresh shuffled order every round):
#   true        /bin/true: the fork+exec floor
#   spec        `safe-run spec default -- /bin/true`: resolve the profile,
#               probe the host, build and print config.json (whole process)
#   runc        bare `runc run` of the config.json `safe-run spec` prints,
#               in a bundle holding what safe-run writes next to it
#   runc-3arch  the same with Docker's seccomp architectures (x86_64, x86,
#               x32): the 3-ABI compile cost safe-run avoids
#   safe-run    `safe-run run --profile default -- /bin/true`
# Every container runs safe-run-init as PID 1 (it verifies the controls,
# then execs /bin/true), in all three runc-based rows alike.
set -euo pipefail

ROUNDS=${ROUNDS:-40}
WARMUP=${WARMUP:-3}
JSON=${JSON:-}

die() { echo "startup.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root: sudo bench/startup.sh"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNC=${RUNC:-$(command -v runc || true)}
[[ -x $RUNC ]] || die "runc not found (set RUNC=/path/to/runc)"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || die "go not found (set GO=/path/to/go)"
if ! command -v jq >/dev/null; then
	echo "installing jq" >&2
	apt-get install -y jq >/dev/null
fi

tmp=$(mktemp -d /tmp/safe-run-bench.XXXXXX)
bin=$tmp/bin          # safe-run, safe-run-init, abtime
S=$tmp/state          # safe-run --state-dir
R=$tmp/runc-root      # runc --root for the bare runc rows
B1=$tmp/bundle-runc   # identical config.json
B3=$tmp/bundle-runc-3arch
samples=$tmp/samples.json

cleanup() {
	local status=$?
	set +e
	# Containers left by an aborted run (a normal `runc run` deletes its own).
	for root in "$R" "$S/runc"; do
		[[ -d $root ]] || continue
		for id in $("$RUNC" --root "$root" list -q 2>/dev/null); do
			"$RUNC" --root "$root" delete --force "$id"
		done
	done
	# Never rm -rf through a mount (a bind of /usr would lose host files).
	if awk -v t="$tmp" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "startup.sh: something is still mounted under $tmp; left it in place" >&2
		exit 1
	fi
	rm -rf "$tmp"
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
)
SR=$bin/safe-run

# mkbundle DIR: a bundle for bare runc holding the config.json that
# `safe-run spec` prints, byte for byte, plus what safe-run writes next to
# it (internal/bundle, internal/plan/hostview.go): the empty rootfs/ with
# the host's usr-merge symlinks, and etc/{passwd,group,hosts,hostname}
# that the spec binds from bundle-relative sources.
mkbundle() {
	local d=$1 cfg uid gid home host user group passwd grp n
	mkdir -m 0700 "$d"
	cfg=$d/config.json
	"$SR" spec default -- /bin/true >"$cfg"
	chmod 0600 "$cfg"
	[[ $(jq -r .root.path "$cfg") == rootfs ]] || die "default profile no longer uses the host view (root.path != rootfs)"
	mkdir -m 0755 "$d/rootfs"
	for n in bin lib lib32 lib64 libx32 sbin; do # host.usrMergeCandidates
		if [[ -L /$n ]]; then
			ln -s "$(readlink "/$n")" "$d/rootfs/$n"
		fi
	done
	uid=$(jq -r .process.user.uid "$cfg")
	gid=$(jq -r .process.user.gid "$cfg")
	host=$(jq -r .hostname "$cfg")
	home=$(jq -r '[.process.env[] | select(startswith("HOME="))][0] // "HOME=/" | sub("^HOME="; "")' "$cfg")
	user=user group=user
	[[ $uid == 65534 ]] && user=nobody
	[[ $gid == 65534 ]] && group=nogroup
	passwd=$'root:x:0:0:root:/root:/usr/sbin/nologin\n'
	grp=$'root:x:0:\n'
	[[ $uid != 0 ]] && passwd+="$user:x:$uid:$gid:safe-run user:$home:/bin/sh"$'\n'
	[[ $gid != 0 ]] && grp+="$group:x:$gid:"$'\n'
	mkdir -m 0755 "$d/etc"
	printf '%s' "$passwd" >"$d/etc/passwd"
	printf '%s' "$grp" >"$d/etc/group"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n' "$host" >"$d/etc/hosts"
	printf '%s\n' "$host" >"$d/etc/hostname"
	chmod 0444 "$d"/etc/{passwd,group,hosts,hostname}
}

echo "== prepare bundles in $tmp" >&2
mkdir -m 0700 "$S" "$R"
mkbundle "$B1"
mkbundle "$B3"
# Three ABIs as safe-run itself writes them (seccomp.architectures):
# socket families are not filtered then (i386 reaches sockets through
# socketcall), so the per-family socket rules become one allow.
jq '.linux.seccomp.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
	| .linux.seccomp.syscalls |= (map(select((.names == ["socket"]) | not))
	  + [{"names": ["socket"], "action": "SCMP_ACT_ALLOW"}])' \
	"$B1/config.json" >"$B3/config.json"

# What `run` generates differs from `spec` only in the container id, i.e.
# linux.cgroupsPath (checked here with an explicit --name).
cmp -s <("$SR" spec default -- /bin/true) "$B1/config.json" || die "safe-run spec is not deterministic"
diff <("$SR" spec --name sr-check default -- /bin/true | jq -S 'del(.linux.cgroupsPath)') \
	<(jq -S 'del(.linux.cgroupsPath)' "$B1/config.json") >/dev/null ||
	die "the spec of a named run differs from safe-run spec beyond linux.cgroupsPath"

echo "== verify each start once" >&2
"$RUNC" --root "$R" run --bundle "$B1" bench-verify </dev/null || die "bare runc cannot run the safe-run config.json"
"$RUNC" --root "$R" run --bundle "$B3" bench-verify3 </dev/null || die "bare runc cannot run the 3-arch config.json"
"$SR" --state-dir "$S" run --profile default --name sr-verify -- /bin/true </dev/null || die "safe-run run failed"

echo "== measure: $ROUNDS rounds (+$WARMUP warm-up); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$bin/abtime" -rounds "$ROUNDS" -warmup "$WARMUP" -baseline runc -json "$samples" \
	-ratio safe-run/runc -ratio safe-run/runc-3arch -ratio runc-3arch/runc -ratio spec/true \
	"true=/bin/true" \
	"spec=$SR spec default -- /bin/true" \
	"runc=$RUNC --root $R run --bundle $B1 bench{i}" \
	"runc-3arch=$RUNC --root $R run --bundle $B3 bench3-{i}" \
	"safe-run=$SR --state-dir $S run --profile default --name sr{i} -- /bin/true"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -n $JSON ]] && cp "$samples" "$JSON"

# Targets, from the paired per-round values of the samples.
echo
jq -r '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def f2: . * 100 | round / 100;
	[.samples[] | select(.round >= 0)] | group_by(.round) | map(map({(.name): .}) | add) as $r
	| ($r | map(.["safe-run"].wall_ms / .runc.wall_ms) | median) as $ratio
	| ($r | map(.["safe-run"].wall_ms / .["runc-3arch"].wall_ms) | median) as $ratio3
	| ($r | map(.["safe-run"].cpu_ms / .runc.cpu_ms) | median) as $cpuratio
	| ($r | map(.["runc-3arch"].cpu_ms - .runc.cpu_ms) | median) as $cpu3
	| ($r | map(.["runc-3arch"].wall_ms - .runc.wall_ms) | median) as $wall3
	| ($r | map(.spec.wall_ms) | median) as $spec
	| "targets:",
	  "  safe-run / runc (identical config.json), paired median wall ratio: \($ratio | f2)x (cpu \($cpuratio | f2)x); target <= 1.10x: \(if $ratio <= 1.10 then "met" else "NOT met" end)",
	  "  safe-run / runc-3arch, paired median wall ratio: \($ratio3 | f2)x",
	  "  3-arch seccomp extra per start (runc-3arch - runc, paired medians): cpu \($cpu3 | f2) ms, wall \($wall3 | f2) ms",
	  "  spec generation, whole process (safe-run spec default): median \($spec | f2) ms; target <= 5 ms: \(if $spec <= 5 then "met" else "NOT met" end)",
	  "  (the 1-arch compile itself: go test -bench SeccompCompile ./bench/)"
' "$samples"

# Leave no state behind.
left=$(find "$S/bundles" "$S/runc" -mindepth 1)
[[ -z $left ]] || die "safe-run left state behind in $S: $left"
[[ -z $("$RUNC" --root "$R" list -q) ]] || die "bare runc left containers in $R"
[[ -z $(find "$R" -mindepth 1) ]] || die "bare runc left state in $R: $(find "$R" -mindepth 1)"
cg=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/safe-run/*' \
	\( -name safe-run-spec -o -name 'sr[0-9]*-[0-9]*' -o -name 'sr-verify' \) 2>/dev/null || true)
[[ -z $cg ]] || die "cgroups left behind: $cg"
echo "leftovers: none (state dir bundles/ and runc/ empty, runc --root $R list empty, no cgroups)"
