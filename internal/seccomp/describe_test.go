package seccomp

import (
	"strings"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

func notif(name string, args ...uint64) *Notification {
	n := &Notification{Syscall: name, Arch: libseccomp.ArchAMD64}
	copy(n.Args[:], args)
	return n
}

func TestSyscallName(t *testing.T) {
	for _, c := range []struct {
		arch libseccomp.ScmpArch
		nr   int32
		want string
	}{
		{libseccomp.ArchAMD64, 101, "ptrace"},
		{libseccomp.ArchAMD64, 272, "unshare"},
		{libseccomp.ArchARM64, 117, "ptrace"},
		{libseccomp.ArchX86, 26, "ptrace"},
		{libseccomp.ArchAMD64, 4000, "syscall_4000"},
	} {
		if got := SyscallName(c.arch, c.nr); got != c.want {
			t.Errorf("SyscallName(%v, %d) = %q, want %q", c.arch, c.nr, got, c.want)
		}
	}
}

func TestDescribeCall(t *testing.T) {
	for _, c := range []struct {
		n    *Notification
		want string
	}{
		{notif("clone", CloneNewUser|17), "clone(CLONE_NEWUSER|SIGCHLD)"},
		{notif("clone", 0x01200000|17), "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)"},
		{notif("clone", 17), "clone(SIGCHLD)"},
		{notif("clone", 0), "clone(0x0)"},
		{notif("unshare", CloneNewNet|CloneNewNS), "unshare(CLONE_NEWNS|CLONE_NEWNET)"},
		{notif("setns", 3, CloneNewNet), "setns(3, CLONE_NEWNET)"},
		{notif("setns", 4, 0), "setns(4, 0)"},
		{notif("socket", 17, 3|0x80000, 768), "socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC)"},
		{notif("socket", 38, 5), "socket(AF_ALG, SOCK_SEQPACKET)"},
		{notif("socket", 40, 1|0x800), "socket(AF_VSOCK, SOCK_STREAM|SOCK_NONBLOCK)"},
		{notif("socket", 99, 2), "socket(AF_99, SOCK_DGRAM)"},
		{notif("ioctl", 0, 0x5412), "ioctl(0, TIOCSTI)"},
		// only the low 32 bits are the request
		{notif("ioctl", 1, 0x1_0000541C), "ioctl(1, TIOCLINUX)"},
		{notif("ioctl", 3, 0x5401), "ioctl(3, TCGETS)"},
		{notif("ioctl", 3, 0xdead), "ioctl(3, 0xdead)"},
		{notif("ptrace", 0), "ptrace(PTRACE_TRACEME)"},
		{notif("ptrace", 16, 42), "ptrace(PTRACE_ATTACH, 42)"},
		{notif("ptrace", 0x4206, 7), "ptrace(PTRACE_SEIZE, 7)"},
		{notif("personality", 0x0040000), "personality(PER_LINUX|ADDR_NO_RANDOMIZE)"},
		{notif("personality", 0x0400008), "personality(PER_LINUX32|READ_IMPLIES_EXEC)"},
		{notif("personality", 0xffffffff), "personality(0xffffffff)"},
		{notif("mkdir", 1, 2), "mkdir(...)"},
		{&Notification{Arch: libseccomp.ArchAMD64, Nr: 101}, "ptrace(PTRACE_TRACEME)"},
	} {
		if got := DescribeCall(c.n); got != c.want {
			t.Errorf("DescribeCall(%s %x) = %q, want %q", c.n.Syscall, c.n.Args[:2], got, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	policy := DefaultPolicy()
	policy.Mode = Notify
	e := &Explainer{Profile: "default", Policy: policy}
	for _, c := range []struct {
		n         *Notification
		line, key string
		errno     int
	}{
		{notif("ptrace", 0),
			`denied: ptrace(PTRACE_TRACEME) by profile "default" (not allowed; in group @debug; allow with seccomp.allow: [ptrace])`,
			"ptrace", 1},
		{notif("perf_event_open"),
			`denied: perf_event_open(...) by profile "default" (not allowed; in groups @debug, @perf, @privileged; allow with seccomp.allow: [perf_event_open])`,
			"perf_event_open", 1},
		{notif("clone", CloneNewUser|17),
			`denied: clone(CLONE_NEWUSER|SIGCHLD) by profile "default" (namespace flags not allowed; allow with seccomp.self-sandbox: true (user namespaces come with chroot))`,
			"clone(CLONE_NEWUSER)", 1},
		{notif("unshare", CloneNewNet),
			`denied: unshare(CLONE_NEWNET) by profile "default" (namespace flags not allowed; allow with seccomp.namespaces: [net] or seccomp.self-sandbox: true)`,
			"unshare(CLONE_NEWNET)", 1},
		{notif("unshare", CloneNewNS),
			`denied: unshare(CLONE_NEWNS) by profile "default" (namespace flags not allowed; allow with seccomp.namespaces: [mount])`,
			"unshare(CLONE_NEWNS)", 1},
		{notif("setns", 3, CloneNewNet),
			`denied: setns(3, CLONE_NEWNET) by profile "default" (joining namespaces is not allowed; allow with seccomp.allow: [setns] and seccomp.namespaces: [net])`,
			"setns(CLONE_NEWNET)", 1},
		{notif("socket", 17, 3),
			`denied: socket(AF_PACKET, SOCK_RAW) by profile "default" (address family not allowed; allow with seccomp.socket-families: [inet, inet6, netlink, unix, packet])`,
			"socket(AF_PACKET)", 97},
		{notif("ioctl", 0, 0x5412),
			`denied: ioctl(0, TIOCSTI) by profile "default" (always refused: TIOCSTI can inject input into the host's terminal)`,
			"ioctl(TIOCSTI)", 1},
		{notif("personality", 0x0400000),
			`denied: personality(PER_LINUX|READ_IMPLIES_EXEC) by profile "default" (always refused: only the personas PER_LINUX, PER_LINUX32 and UNAME26 are allowed)`,
			"personality(PER_LINUX|READ_IMPLIES_EXEC)", 1},
		{notif("chroot"),
			`denied: chroot(...) by profile "default" (not allowed; in groups @mount, @privileged; allow with seccomp.self-sandbox: true (chroot comes with user namespaces))`,
			"chroot", 1},
	} {
		v := e.Explain(c.n)
		if got := v.Line("default"); got != c.line {
			t.Errorf("Explain(%s):\n got %s\nwant %s", c.n.Syscall, got, c.line)
		}
		if v.Key != c.key || v.Errno != c.errno {
			t.Errorf("Explain(%s): key %q errno %d, want %q %d", c.n.Syscall, v.Key, v.Errno, c.key, c.errno)
		}
	}

	// The errno is the profile's; a profile that already allows some
	// namespaces and families lists them in the hint (the lists replace
	// the parent's).
	p2 := DefaultPolicy()
	p2.DenyErrno = 13
	p2.Namespaces = CloneNewNet
	p2.Allow = append(append([]string(nil), p2.Allow...), "setns")
	e2 := &Explainer{Profile: "p2", Policy: p2}
	v := e2.Explain(notif("unshare", CloneNewUTS|CloneNewNet))
	if want := "allow with seccomp.namespaces: [net, uts]"; v.Hint != want || v.Errno != 13 {
		t.Errorf("unshare(UTS|NET) with net allowed: hint %q errno %d, want %q 13", v.Hint, v.Errno, want)
	}
	v = e2.Explain(notif("setns", 3, CloneNewIPC))
	if v.Key != "setns(CLONE_NEWIPC)" || !strings.Contains(v.Hint, "seccomp.namespaces: [ipc, net]") {
		t.Errorf("setns(IPC) with net allowed: %+v", v)
	}
	e3 := &Explainer{Profile: "p3", Policy: Policy{Allow: []string{"read"}, DenyErrno: 1}}
	if v := e3.Explain(notif("socket", 1, 1)); v.Reason != "not allowed; in group @network-io" || v.Errno != 1 {
		t.Errorf("socket not allowed at all: %+v", v)
	}
}

func TestTally(t *testing.T) {
	var tl Tally
	for _, k := range []string{"ptrace", "socket(AF_PACKET)", "ptrace", "mkdir"} {
		tl.Add(k)
	}
	want := []string{"ptrace            2", "mkdir             1", "socket(AF_PACKET) 1"}
	if got := tl.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") || tl.Total() != 4 {
		t.Errorf("Lines() = %q (total %d), want %q", got, tl.Total(), want)
	}
}
