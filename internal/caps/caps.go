// Package caps maps Linux capability names to their bit numbers
// (include/uapi/linux/capability.h), for validation and for checking the
// masks in /proc/PID/status.
package caps

import (
	"fmt"
	"strings"

	"github.com/safe-run/safe-run/internal/suggest"
)

// names is indexed by capability number.
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Canonical turns "net_bind_service", "NET_BIND_SERVICE" or
// "CAP_NET_BIND_SERVICE" into "CAP_NET_BIND_SERVICE", or explains why not.
func Canonical(name string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(up, "CAP_") {
		up = "CAP_" + up
	}
	for _, n := range names {
		if n == up {
			return n, nil
		}
	}
	if up == "CAP_ALL" {
		return "", fmt.Errorf("capability %q: ALL is refused; name each capability the program needs", name)
	}
	return "", fmt.Errorf("unknown capability %q%s", name, suggest.Hint(up, names))
}

// Mask returns the bitmask of canonical capability names.
func Mask(canonical []string) uint64 {
	var m uint64
	for _, c := range canonical {
		for i, n := range names {
			if n == c {
				m |= 1 << uint(i)
			}
		}
	}
	return m
}

// Names lists the capabilities set in mask.
func Names(mask uint64) []string {
	var out []string
	for i, n := range names {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, n)
		}
	}
	if extra := mask >> uint(len(names)); extra != 0 {
		out = append(out, fmt.Sprintf("unknown bits %#x", extra<<uint(len(names))))
	}
	return out
}
