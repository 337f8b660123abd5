#!/usr/bin/env bash
# bench/seccomp.sh: what a seccomp filter costs per syscall, inside real
# runc containers: safe-run's default filter vs no filter vs Docker's
# default profile (built by moby's own code), for a plain allowed call and
# for calls that go through argument rules. Results: docs/performance.md.
#
#   sudo bench/seccomp.sh              # 7 rounds x 2,000,000 calls
#   sudo ROUNDS=11 CALLS=5000000 bench/seccomp.sh
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cd "$repo"
CGO_ENABLED=0 "$GO" build -ldflags "-s -w" -o "$tmp/safe-run-init" ./cmd/safe-run-init
mkdir -m 755 "$tmp/probe"
gcc -static -O2 -o "$tmp/probe/probe" tests/probe/probe.c
"$GO" run ./bench/seccompcost -probe "$tmp/probe/probe" -init "$tmp/safe-run-init" \
	-rounds "${ROUNDS:-7}" -calls "${CALLS:-2000000}"
