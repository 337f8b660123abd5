package seccomp

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// This file turns notifications into words: the call as strace would
// write it (for the syscalls whose arguments the filter inspects), and,
// for `safe-run run --explain`, why the profile refused it, what the
// enforcing filter would have answered, and which profile line allows it.

// SyscallName returns the name of syscall nr on arch, or "syscall_NR".
func SyscallName(arch libseccomp.ScmpArch, nr int32) string {
	if name, err := libseccomp.ScmpSyscall(nr).GetNameByArch(arch); err == nil {
		return name
	}
	return "syscall_" + strconv.Itoa(int(nr))
}

type callFlag struct {
	bit  uint64
	name string
}

// callCloneFlags are the CLONE_* flags (include/uapi/linux/sched.h), lowest
// first.
var callCloneFlags = []callFlag{
	{0x00000100, "CLONE_VM"}, {0x00000200, "CLONE_FS"}, {0x00000400, "CLONE_FILES"},
	{0x00000800, "CLONE_SIGHAND"}, {0x00001000, "CLONE_PIDFD"}, {0x00002000, "CLONE_PTRACE"},
	{0x00004000, "CLONE_VFORK"}, {0x00008000, "CLONE_PARENT"}, {0x00010000, "CLONE_THREAD"},
	{CloneNewNS, "CLONE_NEWNS"}, {0x00040000, "CLONE_SYSVSEM"}, {0x00080000, "CLONE_SETTLS"},
	{0x00100000, "CLONE_PARENT_SETTID"}, {0x00200000, "CLONE_CHILD_CLEARTID"},
	{0x00400000, "CLONE_DETACHED"}, {0x00800000, "CLONE_UNTRACED"},
	{0x01000000, "CLONE_CHILD_SETTID"}, {CloneNewCgroup, "CLONE_NEWCGROUP"},
	{CloneNewUTS, "CLONE_NEWUTS"}, {CloneNewIPC, "CLONE_NEWIPC"}, {CloneNewUser, "CLONE_NEWUSER"},
	{CloneNewPID, "CLONE_NEWPID"}, {CloneNewNet, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"},
}

// callSignals are the signals clone's low byte usually holds.
var callSignals = map[uint64]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 9: "SIGKILL", 10: "SIGUSR1", 12: "SIGUSR2",
	14: "SIGALRM", 15: "SIGTERM", 17: "SIGCHLD",
}

// callRenderFlags writes v as NAME|NAME|0xREST ("0" for none).
func callRenderFlags(v uint64, table []callFlag) string {
	var parts []string
	for _, f := range table {
		if v&f.bit != 0 {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 || len(parts) == 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	return strings.Join(parts, "|")
}

// CloneFlags renders clone(2)'s flags, the exit signal in the low byte
// included ("CLONE_NEWUSER|SIGCHLD").
func FormatCloneFlags(v uint64) string {
	sig := v & 0xff
	s := callRenderFlags(v&^0xff, callCloneFlags)
	if sig == 0 {
		return s
	}
	name, ok := callSignals[sig]
	if !ok {
		name = "signal " + strconv.FormatUint(sig, 10)
	}
	if s == "0x0" {
		return name
	}
	return s + "|" + name
}

// callFamilies maps AF_* numbers to profile names (SocketFamilies).
var callFamilies = func() map[uint64]string {
	m := map[uint64]string{}
	for name, nr := range SocketFamilies {
		m[nr] = name
	}
	return m
}()

// FamilyName returns the profile name of address family nr ("" if none).
func FamilyNameOf(nr uint64) string { return callFamilies[nr] }

// afName renders an address family as AF_NAME.
func callAF(nr uint64) string {
	if nr == 0 {
		return "AF_UNSPEC"
	}
	if name, ok := callFamilies[nr]; ok {
		return "AF_" + strings.ToUpper(name)
	}
	return "AF_" + strconv.FormatUint(nr, 10)
}

var callSocketTypes = map[uint64]string{
	1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
	6: "SOCK_DCCP", 10: "SOCK_PACKET",
}

func callSocketType(v uint64) string {
	v &= 0xffffffff
	s, ok := callSocketTypes[v&0xf]
	if !ok {
		s = strconv.FormatUint(v&0xf, 10)
	}
	if v&0x800 != 0 {
		s += "|SOCK_NONBLOCK"
	}
	if v&0x80000 != 0 {
		s += "|SOCK_CLOEXEC"
	}
	if rest := v &^ (0xf | 0x800 | 0x80000); rest != 0 {
		s += "|0x" + strconv.FormatUint(rest, 16)
	}
	return s
}

// callIoctls are common ioctl requests (asm-generic/ioctls.h and
// linux/fs.h, as on x86_64 and arm64).
var callIoctls = map[uint64]string{
	0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF", 0x5409: "TCSBRK",
	0x540A: "TCXONC", 0x540B: "TCFLSH", 0x540C: "TIOCEXCL", 0x540D: "TIOCNXCL",
	0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5411: "TIOCOUTQ",
	ioctlTIOCSTI: "TIOCSTI", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ", 0x5415: "TIOCMGET",
	0x541B: "FIONREAD", ioctlTIOCLINUX: "TIOCLINUX", 0x5421: "FIONBIO", 0x5422: "TIOCNOTTY",
	0x5429: "TIOCGSID", 0x5450: "FIONCLEX", 0x5451: "FIOCLEX", 0x5452: "FIOASYNC",
	0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK", 0x5441: "TIOCGPTPEER",
	0x40049409: "FICLONE", 0x4020940D: "FICLONERANGE", 0x80086601: "FS_IOC_GETFLAGS",
	0x40086602: "FS_IOC_SETFLAGS", 0xC020660B: "FS_IOC_FIEMAP", 0x5460: "FIOQSIZE",
}

// IoctlName returns the name of an ioctl request, or its hex value. Only
// the low 32 bits count: the kernel reads the request as an int.
func FormatIoctl(req uint64) string {
	req &= 0xffffffff
	if name, ok := callIoctls[req]; ok {
		return name
	}
	return "0x" + strconv.FormatUint(req, 16)
}

var callPtrace = map[uint64]string{
	0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
	4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT",
	8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
	14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
	24: "PTRACE_SYSCALL", 0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG",
	0x4202: "PTRACE_GETSIGINFO", 0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET",
	0x4205: "PTRACE_SETREGSET", 0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT",
	0x4208: "PTRACE_LISTEN",
}

// callPersonaFlags are personality(2)'s flags (include/uapi/linux/personality.h);
// the low byte is the persona itself.
var callPersonaFlags = []callFlag{
	{0x0020000, "UNAME26"}, {0x0040000, "ADDR_NO_RANDOMIZE"}, {0x0080000, "FDPIC_FUNCPTRS"},
	{0x0100000, "MMAP_PAGE_ZERO"}, {0x0200000, "ADDR_COMPAT_LAYOUT"},
	{0x0400000, "READ_IMPLIES_EXEC"}, {0x0800000, "ADDR_LIMIT_32BIT"}, {0x1000000, "SHORT_INODE"},
	{0x2000000, "WHOLE_SECONDS"}, {0x4000000, "STICKY_TIMEOUTS"}, {0x8000000, "ADDR_LIMIT_3GB"},
}

var callPersonas = map[uint64]string{0: "PER_LINUX", 8: "PER_LINUX32", 0x10: "PER_BSD", 0x0f: "PER_LINUX32_3GB"}

// Persona renders personality(2)'s argument.
func FormatPersona(v uint64) string {
	v &= 0xffffffff
	if v == 0xffffffff {
		return "0xffffffff" // the query
	}
	base, ok := callPersonas[v&0xff]
	if !ok {
		base = "0x" + strconv.FormatUint(v&0xff, 16)
	}
	if rest := v &^ 0xff; rest != 0 {
		return base + "|" + callRenderFlags(rest, callPersonaFlags)
	}
	return base
}

// callSafePersonas are the personality(2) values every filter allows (Build).
var callSafePersonas = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// DescribeCall renders a notified call: the arguments the filter inspects
// are decoded ("clone(CLONE_NEWUSER|SIGCHLD)", "socket(AF_PACKET,
// SOCK_RAW)", "ioctl(0, TIOCSTI)"); other calls are just "name(...)".
func DescribeCall(n *Notification) string {
	name := n.Syscall
	if name == "" {
		name = SyscallName(n.Arch, n.Nr)
	}
	a := n.Args
	switch name {
	case "clone":
		return "clone(" + FormatCloneFlags(a[0]) + ")"
	case "unshare":
		return "unshare(" + callRenderFlags(a[0], callCloneFlags) + ")"
	case "setns":
		ns := "0"
		if a[1] != 0 {
			ns = callRenderFlags(a[1], callCloneFlags)
		}
		return fmt.Sprintf("setns(%d, %s)", int32(a[0]), ns)
	case "socket":
		return "socket(" + callAF(a[0]&0xffffffff) + ", " + callSocketType(a[1]) + ")"
	case "ioctl":
		return fmt.Sprintf("ioctl(%d, %s)", int32(a[0]), FormatIoctl(a[1]))
	case "ptrace":
		req, ok := callPtrace[a[0]&0xffffffff]
		if !ok {
			req = strconv.FormatUint(a[0]&0xffffffff, 10)
		}
		if a[0] == 0 {
			return "ptrace(" + req + ")"
		}
		return fmt.Sprintf("ptrace(%s, %d)", req, int32(a[1]))
	case "personality":
		return "personality(" + FormatPersona(a[0]) + ")"
	}
	return name + "(...)"
}

// namespaceNames lists the profile names of the CLONE_NEW* flags in mask,
// sorted.
func callNamespaces(mask uint64) []string {
	var out []string
	for name, flag := range NamespaceFlags {
		if mask&flag != 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Explainer tells why the filter built from Policy refused a notified
// syscall, and what the enforcing filter would have answered.
type Explainer struct {
	Profile string // the profile's name, for messages
	Policy  Policy
	allowed map[string]bool
}

// Verdict is the explanation of one refused call.
type Verdict struct {
	Call   string // DescribeCall's rendering
	Key    string // what the summary counts: the name, or the refused argument ("socket(AF_PACKET)")
	Reason string // "not allowed; in group @debug"
	Hint   string // "allow with seccomp.allow: [ptrace]"; "" when no profile can allow it
	Errno  int    // what the enforcing filter answers
}

// Line is the message for one refusal.
func (v Verdict) Line(profile string) string {
	why := v.Reason
	if v.Hint != "" {
		why += "; " + v.Hint
	}
	return fmt.Sprintf("denied: %s by profile %q (%s)", v.Call, profile, why)
}

func (e *Explainer) allows(name string) bool {
	if e.allowed == nil {
		e.allowed = map[string]bool{}
		for _, n := range e.Policy.Allow {
			e.allowed[n] = true
		}
	}
	return e.allowed[name]
}

// familyList is the profile's socket-families with extra added, as the
// line to write (a child's list replaces its parent's).
func (e *Explainer) familyList(extra string) string {
	var names []string
	for _, f := range e.Policy.Families {
		if n := FamilyNameOf(f); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return "[" + strings.Join(append(names, extra), ", ") + "]"
}

// Explain explains a notification of the filter built from e.Policy.
func (e *Explainer) Explain(n *Notification) Verdict {
	p := e.Policy
	name := n.Syscall
	if name == "" {
		name = SyscallName(n.Arch, n.Nr)
	}
	v := Verdict{Call: DescribeCall(n), Key: name, Errno: int(p.DenyErrno)}
	notAllowed := func() Verdict {
		v.Reason = "not allowed"
		// @system-service is an aggregate: naming it says nothing.
		g := slices.DeleteFunc(GroupsOf(name), func(s string) bool { return s == "@system-service" })
		if len(g) == 1 {
			v.Reason += "; in group " + g[0]
		} else if len(g) > 1 {
			v.Reason += "; in groups " + strings.Join(g, ", ")
		}
		v.Hint = "allow with seccomp.allow: [" + name + "]"
		if name == "chroot" {
			v.Hint = "allow with seccomp.self-sandbox: true (chroot comes with user namespaces)"
		}
		return v
	}
	a := n.Args
	switch name {
	case "clone", "unshare", "setns":
		if !e.allows(name) || (name == "setns" && p.Namespaces == 0) {
			v = notAllowed()
			if name == "setns" {
				v.Reason = "joining namespaces is not allowed"
				v.Hint = "allow with seccomp.allow: [setns] and the namespaces in seccomp.namespaces"
				if ns := callNamespaces(a[1] & cloneNamespaceFlags); len(ns) > 0 {
					v.Key = "setns(" + callRenderFlags(a[1]&cloneNamespaceFlags, callCloneFlags) + ")"
					v.Hint = "allow with seccomp.allow: [setns] and seccomp.namespaces: " + e.namespaceList(ns)
				}
			}
			return v
		}
		idx := 0
		if name == "setns" {
			idx = 1
		}
		refused := a[idx] & cloneNamespaceFlags &^ p.Namespaces
		v.Key = name + "(" + callRenderFlags(refused, callCloneFlags) + ")"
		v.Reason = "namespace flags not allowed"
		ns := callNamespaces(refused)
		if slices.Contains(ns, "user") {
			v.Hint = "allow with seccomp.self-sandbox: true (user namespaces come with chroot)"
			if others := slices.DeleteFunc(slices.Clone(ns), func(s string) bool {
				return s == "user" || s == "pid" || s == "net" || s == "ipc"
			}); len(others) > 0 {
				v.Hint += " and seccomp.namespaces: " + e.namespaceList(others)
			}
		} else {
			v.Hint = "allow with seccomp.namespaces: " + e.namespaceList(ns) + " or seccomp.self-sandbox: true"
			if slices.ContainsFunc(ns, func(s string) bool { return s != "pid" && s != "net" && s != "ipc" }) {
				v.Hint = "allow with seccomp.namespaces: " + e.namespaceList(ns)
			}
		}
		return v
	case "socket":
		if !e.allows(name) {
			return notAllowed()
		}
		fam := a[0] & 0xffffffff
		v.Key = "socket(" + callAF(fam) + ")"
		v.Errno = errnoEAFNOSUPPORT
		v.Reason = "address family not allowed"
		if fn := FamilyNameOf(fam); fn != "" {
			v.Hint = "allow with seccomp.socket-families: " + e.familyList(fn)
		}
		return v
	case "ioctl":
		if !e.allows(name) {
			return notAllowed()
		}
		req := a[1] & 0xffffffff
		v.Key = "ioctl(" + FormatIoctl(req) + ")"
		switch req {
		case ioctlTIOCSTI:
			v.Reason = "always refused: TIOCSTI can inject input into the host's terminal"
		case ioctlTIOCLINUX:
			v.Reason = "always refused: TIOCLINUX can inject input into the host's console"
		default:
			v.Reason = "always refused"
		}
		return v
	case "personality":
		if !e.allows(name) {
			return notAllowed()
		}
		v.Key = "personality(" + FormatPersona(a[0]) + ")"
		v.Reason = "always refused: only the personas PER_LINUX, PER_LINUX32 and UNAME26 are allowed"
		return v
	}
	return notAllowed()
}

// namespaceList is the profile's namespaces with extra added, as the
// list to write (a child's list replaces its parent's).
func (e *Explainer) namespaceList(extra []string) string {
	names := append(callNamespaces(e.Policy.Namespaces), extra...)
	slices.Sort(names)
	return "[" + strings.Join(slices.Compact(names), ", ") + "]"
}

// Tally counts refusals for the summary at exit.
type Tally struct {
	counts map[string]int
	total  int
}

// Add counts one refusal.
func (t *Tally) Add(key string) {
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[key]++
	t.total++
}

// Total is the number of refusals counted.
func (t *Tally) Total() int { return t.total }

// Lines is the summary, most frequent first: "ptrace  3".
func (t *Tally) Lines() []string {
	keys := make([]string, 0, len(t.counts))
	width := 0
	for k := range t.counts {
		keys = append(keys, k)
		width = max(width, len(k))
	}
	sort.Slice(keys, func(i, j int) bool {
		if t.counts[keys[i]] != t.counts[keys[j]] {
			return t.counts[keys[i]] > t.counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%-*s %d", width, k, t.counts[k])
	}
	return out
}
