package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) and
// constants the probe passes.
const (
	nrGetpid        = 39
	nrSocket        = 41
	nrIoctl         = 16
	nrPtrace        = 101
	nrPersonality   = 135
	nrMount         = 165
	nrKeyctl        = 250
	nrUnshare       = 272
	nrPerfEventOpen = 298
	nrBpf           = 321
	nrUserfaultfd   = 323
	nrIoUringSetup  = 425
	nrClone3        = 435
	nrUnknown       = 1000 // no such syscall on any kernel
	nrI386Getpid    = 20   // getpid through the i386 ABI

	cloneNewUser = "0x10000000"
	cloneNewNS   = "0x00020000"
	tiocsti      = "0x5412"
)

// probeProfiles writes profiles that bind the syscall probe at /probe and
// returns the directory to pass as --profile-dir.
func probeProfiles(t *testing.T, e *env, extra map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "safe-run-e2e-profiles-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bind := fmt.Sprintf("binds:\n  - {source: %s, target: /probe}\n", probeDir)
	writeFile(t, filepath.Join(dir, "probe.yaml"), "description: default plus the probe\n"+bind)
	for name, body := range extra {
		writeFile(t, filepath.Join(dir, name+".yaml"), "description: "+name+"\n"+bind+body)
	}
	return dir
}

// probe runs the probe calls (each "NAME NR ARG...") under profile and
// returns NAME -> "ok"/errno name.
func probe(t *testing.T, e *env, profiles, profile string, calls ...string) map[string]string {
	t.Helper()
	var script []string
	for _, c := range calls {
		script = append(script, "/probe/probe "+c)
	}
	r := e.run("--profile-dir", profiles, profile, "--", "sh", "-c", strings.Join(script, "; "))
	if r.code != 0 {
		t.Fatalf("probe run failed: %s", r)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if name, res, ok := strings.Cut(line, ": "); ok {
			got[name] = res
		}
	}
	return got
}

func wantResults(t *testing.T, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %q, want %q", name, got[name], w)
		}
	}
}

// TestSeccompDefaultFromInside checks what the kernel answers inside the
// default profile: the classic escape and exploit syscalls fail with EPERM
// (known, refused), syscalls safe-run does not know with ENOSYS (so libc
// falls back), TIOCSTI is refused even with high bits set, and only the
// allowed socket families work.
func TestSeccompDefaultFromInside(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			dir := probeProfiles(t, e, nil)
			got := probe(t, e, dir, "probe",
				fmt.Sprintf("getpid %d", nrGetpid),
				fmt.Sprintf("unshare-user %d %s", nrUnshare, cloneNewUser),
				fmt.Sprintf("unshare-mount %d %s", nrUnshare, cloneNewNS),
				fmt.Sprintf("mount %d 0 buf 0 0 0", nrMount),
				fmt.Sprintf("keyctl %d 0", nrKeyctl),
				fmt.Sprintf("bpf %d 0 0 0", nrBpf),
				fmt.Sprintf("perf_event_open %d 0 0 0 0 0", nrPerfEventOpen),
				fmt.Sprintf("userfaultfd %d 0", nrUserfaultfd),
				fmt.Sprintf("io_uring_setup %d 1 buf", nrIoUringSetup),
				fmt.Sprintf("ptrace %d 0", nrPtrace),
				fmt.Sprintf("clone3 %d 0 0", nrClone3),
				fmt.Sprintf("unknown %d", nrUnknown),
				fmt.Sprintf("socket-unix %d 1 1 0", nrSocket),
				fmt.Sprintf("socket-inet6 %d 10 2 0", nrSocket),
				fmt.Sprintf("socket-packet %d 17 3 0", nrSocket),
				fmt.Sprintf("socket-vsock %d 40 1 0", nrSocket),
				fmt.Sprintf("ioctl-tiocsti %d 0 %s buf", nrIoctl, tiocsti),
				fmt.Sprintf("ioctl-tiocsti-high %d 0 0x100005412 buf", nrIoctl),
				fmt.Sprintf("personality-query %d 0xffffffff", nrPersonality),
				fmt.Sprintf("personality-other %d 0x0400000", nrPersonality),
			)
			wantResults(t, got, map[string]string{
				"getpid":             "ok",
				"unshare-user":       "EPERM",
				"unshare-mount":      "EPERM",
				"mount":              "EPERM",
				"keyctl":             "EPERM",
				"bpf":                "EPERM",
				"perf_event_open":    "EPERM",
				"userfaultfd":        "EPERM",
				"io_uring_setup":     "EPERM",
				"ptrace":             "EPERM",
				"clone3":             "ENOSYS",
				"unknown":            "ENOSYS",
				"socket-unix":        "ok",
				"socket-inet6":       "ok",
				"socket-packet":      "EAFNOSUPPORT",
				"socket-vsock":       "EAFNOSUPPORT",
				"ioctl-tiocsti":      "EPERM",
				"ioctl-tiocsti-high": "EPERM",
				"personality-query":  "ok",
				"personality-other":  "ENOSYS",
			})
		})
	}
}

// TestSeccompI386ABIClosed: a syscall through int 0x80 (the i386 ABI)
// does not reach the kernel; the filter lists only x86_64, so the process
// is killed (SIGSYS) before the call can do anything.
func TestSeccompI386ABIClosed(t *testing.T) {
	e := newEnv(t, rootful)
	dir := probeProfiles(t, e, nil)
	r := e.run("--profile-dir", dir, "probe", "--", "/probe/probe", "int80", "getpid32", fmt.Sprint(nrI386Getpid))
	if r.code != 128+31 || strings.Contains(r.stdout, "getpid32: ok") {
		t.Fatalf("want the probe killed by SIGSYS (exit 159), got %s", r)
	}
}

// TestSeccompProfileKnobs: allowing a group, denying a name, another deny
// errno, self-sandbox and socket families all change what the kernel says.
func TestSeccompProfileKnobs(t *testing.T) {
	e := newEnv(t, rootful)
	dir := probeProfiles(t, e, map[string]string{
		"debug":   "seccomp:\n  allow: [\"@debug\"]\n",
		"nopid":   "seccomp:\n  deny: [getpid]\n  deny-errno: EACCES\n",
		"sandbox": "seccomp:\n  self-sandbox: true\n",
		"packet":  "seccomp:\n  socket-families: [unix, packet]\n",
	})
	wantResults(t, probe(t, e, dir, "debug", fmt.Sprintf("ptrace %d 0", nrPtrace)), map[string]string{"ptrace": "ok"})
	wantResults(t, probe(t, e, dir, "nopid", fmt.Sprintf("getpid %d", nrGetpid), fmt.Sprintf("bpf %d 0 0 0", nrBpf)),
		map[string]string{"getpid": "EACCES", "bpf": "EACCES"})
	wantResults(t, probe(t, e, dir, "sandbox",
		fmt.Sprintf("unshare-user %d %s", nrUnshare, cloneNewUser),
		fmt.Sprintf("unshare-mount %d %s", nrUnshare, cloneNewNS)),
		map[string]string{"unshare-user": "ok", "unshare-mount": "EPERM"})
	// AF_PACKET is allowed by the filter; the kernel then wants CAP_NET_RAW.
	wantResults(t, probe(t, e, dir, "packet",
		fmt.Sprintf("socket-packet %d 17 3 0", nrSocket), fmt.Sprintf("socket-inet %d 2 1 0", nrSocket)),
		map[string]string{"socket-packet": "EPERM", "socket-inet": "EAFNOSUPPORT"})
}

// TestSeccompGroupRepresentatives: for groups whose syscalls an
// unprivileged process can use, a representative call fails with EPERM in
// default (the filter) and gets past the filter when the profile allows
// the group (whatever the kernel then answers, it is not the filter's
// EPERM).
func TestSeccompGroupRepresentatives(t *testing.T) {
	reps := []struct{ group, call string }{
		{"debug", fmt.Sprintf("ptrace %d 0", nrPtrace)},                      // PTRACE_TRACEME
		{"keyring", "keyctl 250 0 0xfffffffd 0"},                             // KEYCTL_GET_KEYRING_ID, session keyring
		{"io-uring", fmt.Sprintf("io_uring_setup %d 1 buf", nrIoUringSetup)}, // one entry
		{"clock", "clock_adjtime 305 0 buf"},                                 // query CLOCK_REALTIME (modes 0)
		{"cpu-emulation", "modify_ldt 154 0 buf 16"},                         // read the LDT
	}
	e := newEnv(t, rootful)
	extra := map[string]string{}
	var all []string
	for _, r := range reps {
		extra["allow-"+r.group] = fmt.Sprintf("seccomp:\n  allow: [\"@%s\"]\n", r.group)
		all = append(all, r.call)
	}
	dir := probeProfiles(t, e, extra)
	def := probe(t, e, dir, "probe", all...)
	for _, r := range reps {
		name := strings.Fields(r.call)[0]
		if def[name] != "EPERM" {
			t.Errorf("default: %s (@%s) = %q, want EPERM", name, r.group, def[name])
		}
		got := probe(t, e, dir, "allow-"+r.group, r.call)
		if got[name] == "EPERM" || got[name] == "" {
			t.Errorf("allow @%s: %s = %q, want past the filter", r.group, name, got[name])
		}
	}
}

// TestSeccompAllowIf: a syscall allowed only for one argument value; the
// other values get the deny errno (EPERM) from the complementary rule,
// not the kernel's own answer.
func TestSeccompAllowIf(t *testing.T) {
	e := newEnv(t, rootful)
	dir := probeProfiles(t, e, map[string]string{
		"traceme": "seccomp:\n  allow-if:\n    - {syscall: ptrace, arg: 0, op: eq, value: 0}\n",
		"ptrace":  "seccomp:\n  allow: [ptrace]\n",
	})
	calls := []string{fmt.Sprintf("ptrace-traceme %d 0", nrPtrace), fmt.Sprintf("ptrace-attach %d 16 99999", nrPtrace)}
	wantResults(t, probe(t, e, dir, "traceme", calls...),
		map[string]string{"ptrace-traceme": "ok", "ptrace-attach": "EPERM"})
	// Allowed outright, the kernel itself answers the attach (no such pid).
	wantResults(t, probe(t, e, dir, "ptrace", calls...),
		map[string]string{"ptrace-traceme": "ok", "ptrace-attach": "ESRCH"})
}

// TestSeccompCompatABIOptIn: seccomp.architectures: [x86] opens the i386
// ABI — the filter still loads in runc (socket families cannot be
// filtered there) and an int 0x80 call goes through.
func TestSeccompCompatABIOptIn(t *testing.T) {
	e := newEnv(t, rootful)
	dir := probeProfiles(t, e, map[string]string{"compat": "seccomp:\n  architectures: [x86]\n"})
	r := e.run("--profile-dir", dir, "compat", "--", "/probe/probe", "int80", "getpid32", fmt.Sprint(nrI386Getpid))
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "getpid32: ok")
	wantContains(t, "stderr", r.stderr, "seccomp.socket-families: not enforced while compat ABIs are open")
}
