package caps

import (
	"reflect"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"CAP_NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE", ""},
		{"NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE", ""},
		{"net_bind_service", "CAP_NET_BIND_SERVICE", ""},
		{"cap_net_bind_service", "CAP_NET_BIND_SERVICE", ""},
		{"Cap_Chown", "CAP_CHOWN", ""},
		{"  sys_admin ", "CAP_SYS_ADMIN", ""},
		{"CHECKPOINT_RESTORE", "CAP_CHECKPOINT_RESTORE", ""},
		{"bpf", "CAP_BPF", ""},
		{"CAP_NET_BIND_SERVIC", "", `unknown capability "CAP_NET_BIND_SERVIC" (did you mean "CAP_NET_BIND_SERVICE"?)`},
		{"net_bind_servic", "", `unknown capability "net_bind_servic" (did you mean "CAP_NET_BIND_SERVICE"?)`},
		{"sys_admn", "", `(did you mean "CAP_SYS_ADMIN"?)`},
		{"ALL", "", `capability "ALL": ALL is refused; name each capability the program needs`},
		{"all", "", `capability "all": ALL is refused`},
		{"CAP_ALL", "", `capability "CAP_ALL": ALL is refused`},
		{"", "", `unknown capability ""`},
		{"CAP_", "", `unknown capability "CAP_"`},
		{"completely_wrong_name", "", `unknown capability "completely_wrong_name"`},
	}
	for _, tt := range tests {
		got, err := Canonical(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Canonical(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			if got != "" {
				t.Errorf("Canonical(%q) returned %q with an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// No suggestion for names far from any capability.
	if _, err := Canonical("completely_wrong_name"); err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("unexpected suggestion: %v", err)
	}
}

// The table follows include/uapi/linux/capability.h.
func TestNumbers(t *testing.T) {
	for name, bit := range map[string]uint{
		"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13,
		"CAP_SYS_CHROOT": 18, "CAP_SYS_ADMIN": 21, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31,
		"CAP_MAC_ADMIN": 33, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
	} {
		if got := Mask([]string{name}); got != 1<<bit {
			t.Errorf("Mask(%s) = %#x, want bit %d", name, got, bit)
		}
	}
	if len(names) != 41 {
		t.Errorf("%d capabilities, want 41 (CAP_LAST_CAP = 40)", len(names))
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || !strings.HasPrefix(n, "CAP_") || strings.ToUpper(n) != n {
			t.Errorf("bad or duplicate name %q", n)
		}
		seen[n] = true
	}
}

func TestMaskNames(t *testing.T) {
	tests := []struct {
		names []string
		mask  uint64
	}{
		{nil, 0},
		{[]string{"CAP_CHOWN"}, 1},
		{[]string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}, 1 | 1<<5 | 1<<13},
		{[]string{"CAP_CHECKPOINT_RESTORE"}, 1 << 40},
		{append([]string(nil), names...), 1<<41 - 1},
	}
	for _, tt := range tests {
		if got := Mask(tt.names); got != tt.mask {
			t.Errorf("Mask(%v) = %#x, want %#x", tt.names, got, tt.mask)
		}
		if got := Names(tt.mask); !reflect.DeepEqual(got, tt.names) {
			t.Errorf("Names(%#x) = %v, want %v", tt.mask, got, tt.names)
		}
	}
	// Order and duplicates do not matter to Mask; Names lists in bit order.
	if got := Mask([]string{"CAP_KILL", "CAP_CHOWN", "CAP_KILL"}); got != 1|1<<5 {
		t.Errorf("Mask = %#x", got)
	}
	if got := Names(1<<5 | 1); !reflect.DeepEqual(got, []string{"CAP_CHOWN", "CAP_KILL"}) {
		t.Errorf("Names = %v", got)
	}
	// Unknown and non-canonical names contribute nothing.
	if got := Mask([]string{"chown", "CAP_NOPE"}); got != 0 {
		t.Errorf("Mask(non-canonical) = %#x, want 0", got)
	}
	// Bits above the last known capability are reported, not dropped.
	got := Names(1<<41 | 1<<63 | 1)
	if len(got) != 2 || got[0] != "CAP_CHOWN" || got[1] != "unknown bits 0x8000020000000000" {
		t.Errorf("Names(unknown bits) = %q", got)
	}
	// Full round trip over each single capability.
	for i, n := range names {
		c, err := Canonical(strings.ToLower(strings.TrimPrefix(n, "CAP_")))
		if err != nil || c != n {
			t.Errorf("Canonical(short %s) = %q, %v", n, c, err)
		}
		if m := Mask([]string{c}); m != 1<<uint(i) || !reflect.DeepEqual(Names(m), []string{n}) {
			t.Errorf("%s: mask %#x names %v", n, m, Names(m))
		}
	}
}
