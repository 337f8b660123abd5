package seccomp

import (
	"runtime"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Errnos used by the filter (include/uapi/asm-generic/errno*.h).
const (
	errnoEPERM        = 1
	errnoENOSYS       = 38
	errnoEAFNOSUPPORT = 97
)

// Namespace flags of clone(2), unshare(2) and setns(2).
const (
	CloneNewNS     = 0x00020000
	CloneNewCgroup = 0x02000000
	CloneNewUTS    = 0x04000000
	CloneNewIPC    = 0x08000000
	CloneNewUser   = 0x10000000
	CloneNewPID    = 0x20000000
	CloneNewNet    = 0x40000000
	// cloneNamespaceFlags is every CLONE_NEW* flag the filter inspects
	// (0x7E020000, the mask Docker's profile uses too).
	cloneNamespaceFlags = CloneNewNS | CloneNewCgroup | CloneNewUTS | CloneNewIPC | CloneNewUser | CloneNewPID | CloneNewNet
)

// NamespaceFlags maps profile names to CLONE_NEW* flags.
var NamespaceFlags = map[string]uint64{
	"mount": CloneNewNS, "cgroup": CloneNewCgroup, "uts": CloneNewUTS, "ipc": CloneNewIPC,
	"user": CloneNewUser, "pid": CloneNewPID, "net": CloneNewNet,
}

// SocketFamilies maps profile names to AF_* numbers (include/linux/socket.h).
var SocketFamilies = map[string]uint64{
	"unix": 1, "inet": 2, "ax25": 3, "ipx": 4, "appletalk": 5, "netrom": 6, "bridge": 7,
	"atmpvc": 8, "x25": 9, "inet6": 10, "rose": 11, "decnet": 12, "netbeui": 13, "security": 14,
	"key": 15, "netlink": 16, "packet": 17, "ash": 18, "econet": 19, "atmsvc": 20, "rds": 21,
	"sna": 22, "irda": 23, "pppox": 24, "wanpipe": 25, "llc": 26, "ib": 27, "mpls": 28, "can": 29,
	"tipc": 30, "bluetooth": 31, "iucv": 32, "rxrpc": 33, "isdn": 34, "phonet": 35,
	"ieee802154": 36, "caif": 37, "alg": 38, "nfc": 39, "vsock": 40, "kcm": 41, "qipcrtr": 42,
	"smc": 43, "xdp": 44, "mctp": 45,
}

// afMax is AF_MAX: families at or above it do not exist (yet) and get the
// filter's default action.
const afMax = 46

// Ioctl requests refused by every filter: both let a process act on a
// terminal it shares with the host (TIOCSTI pushes input into the
// terminal's input queue, so a container can type commands into the
// shell that started it; TIOCLINUX can do the same on a Linux console).
const (
	ioctlTIOCSTI   = 0x5412
	ioctlTIOCLINUX = 0x541C
)

// DeniedIoctls are the ioctl requests every filter refuses.
var DeniedIoctls = []uint64{ioctlTIOCSTI, ioctlTIOCLINUX}

// Mode says what happens to a syscall the profile does not allow.
type Mode int

const (
	// Enforce answers it with the profile's errno in the kernel.
	Enforce Mode = iota
	// Notify sends it to the seccomp agent (explain and record), which
	// answers it (explain) or lets it through (record). Only syscalls
	// safe-run knows by name can be sent; others get the default errno.
	Notify
)

// Policy is everything the filter is built from.
type Policy struct {
	Allow []string // syscall names, groups already expanded
	// DenyErrno answers known syscalls that are not allowed (EPERM).
	DenyErrno uint
	// DefaultErrno answers syscalls safe-run does not know by name, e.g.
	// a newer kernel's (ENOSYS: libc then falls back to an older call).
	DefaultErrno uint
	// Arches are the ABIs the filter covers, native first. Any other ABI
	// (i386 or x32 on x86_64) is refused outright.
	Arches []specs.Arch
	// Namespaces are the CLONE_NEW* flags clone, unshare and setns may use.
	Namespaces uint64
	// Families are the socket address families socket(2) may create;
	// nil allows every family.
	Families []uint64
	Mode     Mode
	// ListenerPath is the seccomp agent's socket (Mode Notify).
	ListenerPath string
	// Conditions allow syscalls outside Allow when an argument compares
	// true (the profile's seccomp.allow-if).
	Conditions []Condition
}

// Condition allows Syscall when argument Index compares true with Op:
// arg Op Value, or for OpMaskedEqual arg & Value == ValueTwo.
type Condition struct {
	Syscall         string
	Index           uint
	Op              specs.LinuxSeccompOperator
	Value, ValueTwo uint64
}

// complementOp is the operator that matches exactly the values op does
// not (masked-equal has none libseccomp can express).
var complementOp = map[specs.LinuxSeccompOperator]specs.LinuxSeccompOperator{
	specs.OpEqualTo: specs.OpNotEqual, specs.OpNotEqual: specs.OpEqualTo,
	specs.OpLessThan: specs.OpGreaterEqual, specs.OpGreaterEqual: specs.OpLessThan,
	specs.OpLessEqual: specs.OpGreaterThan, specs.OpGreaterThan: specs.OpLessEqual,
}

// Build returns the OCI seccomp object for p. Allow must hold validated
// names (CheckName). Build is pure and sorts everything, so the same
// policy always gives the same JSON.
//
// Layout: one unconditional allow rule for the plain allowlist; argument
// rules for clone, clone3, unshare, setns, socket, ioctl and personality
// (allow rules plus complementary deny rules, so a refused flag gets the
// deny errno and can be explained); a deny rule naming every other known
// syscall; the default action for the rest.
func Build(p Policy) *specs.LinuxSeccomp {
	deny := func(names []string, errno uint, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		if p.Mode == Notify {
			return specs.LinuxSyscall{Names: names, Action: specs.ActNotify, Args: args}
		}
		e := errno
		return specs.LinuxSyscall{Names: names, Action: specs.ActErrno, ErrnoRet: &e, Args: args}
	}
	allowed := map[string]bool{} // plain allows
	inAllow := map[string]bool{} // every allowed name, filtered ones too
	var plain []string
	for _, n := range p.Allow {
		inAllow[n] = true
		if _, special := filtered[n]; special || allowed[n] {
			continue
		}
		allowed[n] = true
		plain = append(plain, n)
	}
	sort.Strings(plain)
	rules := []specs.LinuxSyscall{{Names: plain, Action: specs.ActAllow}}

	// Namespaces: allowed only with the profile's flags. Per refused flag
	// a deny rule, so that every call is covered by exactly one rule.
	refusedNS := cloneNamespaceFlags &^ p.Namespaces
	nsRules := func(name string, index uint) {
		rules = append(rules, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: index, Value: refusedNS, ValueTwo: 0, Op: specs.OpMaskedEqual}}})
		for _, flag := range flagBits(refusedNS) {
			rules = append(rules, deny([]string{name}, p.DenyErrno,
				specs.LinuxSeccompArg{Index: index, Value: flag, ValueTwo: flag, Op: specs.OpMaskedEqual}))
		}
	}
	// A filtered syscall the profile does not allow at all is refused
	// whatever its arguments.
	denyAll := func(name string, errno uint) bool {
		if !inAllow[name] {
			rules = append(rules, deny([]string{name}, errno))
			return true
		}
		return false
	}
	if !denyAll("clone", p.DenyErrno) {
		nsRules("clone", 0) // x86_64, arm64, ...: flags are the first argument
	}
	if !denyAll("unshare", p.DenyErrno) {
		nsRules("unshare", 0)
	}
	if p.Namespaces == 0 {
		rules = append(rules, deny([]string{"setns"}, p.DenyErrno))
	} else if !denyAll("setns", p.DenyErrno) {
		nsRules("setns", 1)
	}
	// clone3 passes its flags in memory, out of the filter's reach:
	// ENOSYS makes glibc and musl fall back to clone, whose flags can be
	// inspected.
	enosys := uint(errnoENOSYS)
	rules = append(rules, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})

	// personality(2): the values Docker allows (PER_LINUX, PER_LINUX32,
	// UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff).
	if !denyAll("personality", p.DenyErrno) {
		for _, v := range []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff} {
			rules = append(rules, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}})
		}
	}

	// socket(2): the allowed families; the other existing families get
	// EAFNOSUPPORT, what a kernel without that family says. With a compat
	// ABI open the families cannot be filtered: i386 multiplexes socket
	// calls through socketcall(2), whose arguments are in memory, and
	// libseccomp then refuses the per-family rules (EEXIST), so runc could
	// not load the filter at all. The profile warns about it.
	switch {
	case denyAll("socket", p.DenyErrno):
	case p.Families == nil || len(p.Arches) > 1:
		rules = append(rules, specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow})
	default:
		ok := map[uint64]bool{}
		for _, f := range p.Families {
			ok[f] = true
		}
		for f := uint64(0); f < afMax; f++ {
			arg := specs.LinuxSeccompArg{Index: 0, Value: f, Op: specs.OpEqualTo}
			if ok[f] {
				rules = append(rules, specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg}})
			} else {
				rules = append(rules, deny([]string{"socket"}, errnoEAFNOSUPPORT, arg))
			}
		}
	}

	// ioctl(2): everything but DeniedIoctls. The kernel reads the request
	// as a 32-bit int, so only the low 32 bits may be compared (a 64-bit
	// "!=" would let 0x1_00005412 through as TIOCSTI). libseccomp has no
	// masked "!=", and an unconditional allow would override any deny
	// rule, so the complement is written as masked-equal prefixes.
	if !denyAll("ioctl", p.DenyErrno) {
		for _, c := range complementCover(DeniedIoctls) {
			rules = append(rules, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: c.mask, ValueTwo: c.value, Op: specs.OpMaskedEqual}}})
		}
		for _, req := range DeniedIoctls {
			rules = append(rules, deny([]string{"ioctl"}, p.DenyErrno,
				specs.LinuxSeccompArg{Index: 1, Value: 0xffffffff, ValueTwo: req, Op: specs.OpMaskedEqual}))
		}
	}

	// Conditional allows. A syscall with one condition whose complement
	// libseccomp can express gets the deny errno for the other calls;
	// otherwise they fall to the default errno.
	conditional := map[string][]Condition{}
	var condNames []string
	for _, c := range p.Conditions {
		if len(conditional[c.Syscall]) == 0 {
			condNames = append(condNames, c.Syscall)
		}
		conditional[c.Syscall] = append(conditional[c.Syscall], c)
	}
	sort.Strings(condNames)
	for _, name := range condNames {
		conds := conditional[name]
		for _, c := range conds {
			rules = append(rules, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: c.Index, Value: c.Value, ValueTwo: c.ValueTwo, Op: c.Op}}})
		}
		if op, ok := complementOp[conds[0].Op]; ok && len(conds) == 1 {
			c := conds[0]
			rules = append(rules, deny([]string{name}, p.DenyErrno,
				specs.LinuxSeccompArg{Index: c.Index, Value: c.Value, ValueTwo: c.ValueTwo, Op: op}))
		}
	}

	// Every other syscall safe-run knows: the deny errno (or the agent).
	var refused []string
	for _, n := range Known() {
		if _, special := filtered[n]; !special && !allowed[n] && conditional[n] == nil {
			refused = append(refused, n)
		}
	}
	if len(refused) > 0 {
		rules = append(rules, deny(refused, p.DenyErrno))
	}

	// libseccomp refuses a rule whose action equals the default action,
	// even with conditions; such a rule is redundant anyway (the calls it
	// matches get the default action without it).
	def := p.DefaultErrno
	out := rules[:0]
	for _, r := range rules {
		if r.Action == specs.ActErrno && *r.ErrnoRet == def {
			continue
		}
		out = append(out, r)
	}
	arches := append([]specs.Arch(nil), p.Arches...)
	if len(arches) == 0 {
		arches = []specs.Arch{NativeArch()}
	}
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &def,
		Architectures:   arches,
		ListenerPath:    p.ListenerPath,
		Syscalls:        out,
	}
}

// flagBits splits a mask into its single-bit flags, lowest first.
func flagBits(mask uint64) []uint64 {
	var out []uint64
	for b := uint64(1); b != 0 && b <= mask; b <<= 1 {
		if mask&b != 0 {
			out = append(out, b)
		}
	}
	return out
}

// maskedValue is one "arg & mask == value" test.
type maskedValue struct{ mask, value uint64 }

// complementCover returns masked-equal tests on the low 32 bits that
// together match every 32-bit value except those in excluded, each value
// matching exactly one test: the binary trie of the excluded values, with
// one test per sibling branch that holds none of them.
func complementCover(excluded []uint64) []maskedValue {
	var out []maskedValue
	var walk func(prefix uint64, depth uint)
	walk = func(prefix uint64, depth uint) {
		if depth == 32 {
			return // an excluded value itself
		}
		bit := uint64(1) << (31 - depth)
		mask := ^(bit - 1) & 0xffffffff // the bits fixed so far plus this one
		for _, branch := range []uint64{prefix, prefix | bit} {
			holds := false
			for _, e := range excluded {
				if e&mask == branch {
					holds = true
				}
			}
			if holds {
				walk(branch, depth+1)
			} else {
				out = append(out, maskedValue{mask, branch})
			}
		}
	}
	walk(0, 0)
	return out
}

// NativeArch is the OCI name of the architecture safe-run was built for.
// Filters list only this ABI by default: the 32-bit ABIs (i386, x32) stay
// closed, and libseccomp compiles one architecture in ~1 ms instead of
// ~11 ms for three (docs/performance.md).
func NativeArch() specs.Arch {
	switch runtime.GOARCH {
	case "arm64":
		return specs.ArchAARCH64
	case "ppc64le":
		return specs.ArchPPC64LE
	case "s390x":
		return specs.ArchS390X
	case "riscv64":
		return specs.ArchRISCV64
	}
	return specs.ArchX86_64
}

// ArchNames maps the profile's architecture names to OCI ones.
var ArchNames = map[string]specs.Arch{
	"x86_64": specs.ArchX86_64, "x86": specs.ArchX86, "x32": specs.ArchX32,
	"aarch64": specs.ArchAARCH64, "arm": specs.ArchARM, "ppc64le": specs.ArchPPC64LE,
	"s390x": specs.ArchS390X, "riscv64": specs.ArchRISCV64,
}

// DefaultFamilies are the socket families of the default profile: local
// sockets, IPv4, IPv6 and netlink (which glibc's getaddrinfo and iproute2
// use).
var DefaultFamilies = []uint64{1, 2, 10, 16}

// DefaultPolicy is the policy of the default profile, for spec.Default.
func DefaultPolicy() Policy {
	return Policy{Allow: DefaultAllow, DenyErrno: errnoEPERM, DefaultErrno: errnoENOSYS,
		Arches: []specs.Arch{NativeArch()}, Families: DefaultFamilies}
}
