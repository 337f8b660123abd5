#!/usr/bin/env bash
# The demo: run a program under the default profile and show, from inside
# the container, what is in force. Usage: examples/demo.sh [path/to/safe-run]
set -euo pipefail
SAFE_RUN=${1:-safe-run}

echo "== safe-run check: what this host supports"
"$SAFE_RUN" check || true
echo
echo "== safe-run default -- sh -c '...': the restrictions, seen from inside"
# The script below runs inside the container (the container's own sh).
"$SAFE_RUN" default -- sh -c '
  echo "identity:        $(id)"
  grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | sed "s/^/status:          /"
  touch /etc/x 2>&1 | sed "s/^/write to \/etc:   /"
  touch /usr/x 2>&1 | sed "s/^/write to \/usr:   /"
  touch /tmp/x && echo "write to /tmp:   ok (private tmpfs, noexec)"
  unshare -U true 2>&1 | sed "s/^/new user ns:     /"
  mount -t tmpfs none /tmp 2>&1 | head -1 | sed "s/^/mount:           /"
  echo "network:         $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")(loopback only)"
  echo "home dirs:       $(ls /home /root 2>&1 | tr "\n" " ")"
  echo "pids limit:      $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max 2>/dev/null || echo "not in force (see warnings)")"
  echo "memory limit:    $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max 2>/dev/null || echo "not in force (see warnings)") bytes"
'
echo
echo "== exit codes pass through like docker run's"
set +e
"$SAFE_RUN" default -- sh -c 'exit 7'; echo "sh -c 'exit 7'      -> $?"
"$SAFE_RUN" default -- no-such-command 2>/dev/null; echo "no-such-command     -> $? (not found)"
"$SAFE_RUN" default -- /etc/hostname 2>/dev/null; echo "/etc/hostname       -> $? (cannot execute)"
"$SAFE_RUN" run --memory 2x 2>/dev/null; echo "--memory 2x         -> $? (safe-run error)"
