package seccomp

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNativeArch(t *testing.T) {
	want := map[string]specs.Arch{"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64, "ppc64le": specs.ArchPPC64LE,
		"s390x": specs.ArchS390X, "riscv64": specs.ArchRISCV64}[runtime.GOARCH]
	if want == "" {
		t.Skipf("no expectation for %s", runtime.GOARCH)
	}
	if got := NativeArch(); got != want {
		t.Errorf("NativeArch() = %q, want %q", got, want)
	}
}

// build is Build with a policy in the old (allow, errno, arch) shape: the
// deny errno is errno, the default ENOSYS.
func build(allow []string, errno uint, arch specs.Arch) *specs.LinuxSeccomp {
	return Build(Policy{Allow: allow, DenyErrno: errno, DefaultErrno: errnoENOSYS, Arches: []specs.Arch{arch}, Families: DefaultFamilies})
}

func rulesFor(s *specs.LinuxSeccomp, name string) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, r := range s.Syscalls {
		for _, n := range r.Names {
			if n == name {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestBuild(t *testing.T) {
	allow := []string{"write", "read", "openat", "read", "close", "clone", "clone3", "personality", "unshare", "socket", "ioctl"}
	before := append([]string(nil), allow...)
	s := build(allow, 1, specs.ArchX86_64)
	if !reflect.DeepEqual(allow, before) {
		t.Errorf("Build modified its input: %v", allow)
	}
	if s.DefaultAction != specs.ActErrno || s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != errnoENOSYS {
		t.Errorf("default action %q errno %v, want ENOSYS for syscalls safe-run does not know", s.DefaultAction, s.DefaultErrnoRet)
	}
	if !reflect.DeepEqual(s.Architectures, []specs.Arch{specs.ArchX86_64}) {
		t.Errorf("architectures = %v, want only the given one", s.Architectures)
	}
	first := s.Syscalls[0]
	if first.Action != specs.ActAllow || len(first.Args) != 0 ||
		!reflect.DeepEqual(first.Names, []string{"close", "openat", "read", "write"}) {
		t.Errorf("allow rule = %+v, want the sorted unique plain names", first)
	}
	for _, name := range []string{"clone", "clone3", "personality", "unshare", "socket", "ioctl", "setns"} {
		for _, r := range rulesFor(s, name) {
			if r.Action == specs.ActAllow && len(r.Args) == 0 {
				t.Errorf("%s allowed unconditionally", name)
			}
		}
	}
	// clone: allowed only with none of the seven namespace flags; each
	// flag has its own EPERM rule so the refusal is explainable.
	clone := rulesFor(s, "clone")
	want := specs.LinuxSeccompArg{Index: 0, Value: 0x7E020000, ValueTwo: 0, Op: specs.OpMaskedEqual}
	if len(clone) != 8 || clone[0].Action != specs.ActAllow || !reflect.DeepEqual(clone[0].Args, []specs.LinuxSeccompArg{want}) {
		t.Fatalf("clone rules = %+v", clone)
	}
	for _, r := range clone[1:] {
		if r.Action != specs.ActErrno || *r.ErrnoRet != 1 || r.Args[0].Value != r.Args[0].ValueTwo {
			t.Errorf("clone deny rule = %+v", r)
		}
	}
	if c3 := rulesFor(s, "clone3"); len(c3) != 0 {
		t.Errorf("clone3 must fall to the default ENOSYS (a rule equal to the default is refused): %+v", c3)
	}
	var personas []uint64
	for _, r := range rulesFor(s, "personality") {
		personas = append(personas, r.Args[0].Value)
	}
	if want := []uint64{0, 8, 0x20000, 0x20008, 0xffffffff}; !reflect.DeepEqual(personas, want) {
		t.Errorf("personality values = %#x, want %#x", personas, want)
	}
	// setns is not in the allowlist and no namespace is allowed: refused.
	if r := rulesFor(s, "setns"); len(r) != 1 || r[0].Action != specs.ActErrno || *r[0].ErrnoRet != 1 {
		t.Errorf("setns = %+v", r)
	}
	// A known syscall outside the allowlist is named with the deny errno.
	if r := rulesFor(s, "ptrace"); len(r) != 1 || r[0].Action != specs.ActErrno || *r[0].ErrnoRet != 1 {
		t.Errorf("ptrace = %+v", r)
	}
}

func TestBuildSocketFamilies(t *testing.T) {
	s := build([]string{"socket"}, 1, specs.ArchX86_64)
	allowed, refused := map[uint64]bool{}, map[uint64]bool{}
	for _, r := range rulesFor(s, "socket") {
		if r.Action == specs.ActAllow {
			allowed[r.Args[0].Value] = true
		} else if *r.ErrnoRet == errnoEAFNOSUPPORT {
			refused[r.Args[0].Value] = true
		}
	}
	if !reflect.DeepEqual(allowed, map[uint64]bool{1: true, 2: true, 10: true, 16: true}) {
		t.Errorf("allowed families = %v", allowed)
	}
	if len(refused) != afMax-4 || refused[1] || !refused[40] {
		t.Errorf("refused families = %v", refused)
	}
	any := Build(Policy{Allow: []string{"socket"}, DenyErrno: 1, DefaultErrno: 38})
	if r := rulesFor(any, "socket"); len(r) != 1 || r[0].Action != specs.ActAllow || len(r[0].Args) != 0 {
		t.Errorf("nil families must allow every family: %+v", r)
	}
}

func TestBuildNamespaces(t *testing.T) {
	s := Build(Policy{Allow: []string{"clone", "unshare", "setns", "chroot"}, DenyErrno: 1, DefaultErrno: 38,
		Namespaces: CloneNewUser | CloneNewPID | CloneNewNet | CloneNewIPC})
	for _, name := range []string{"clone", "unshare"} {
		r := rulesFor(s, name)
		if r[0].Args[0].Value != CloneNewNS|CloneNewUTS|CloneNewCgroup || len(r) != 4 {
			t.Errorf("%s rules = %+v", name, r)
		}
	}
	if r := rulesFor(s, "setns"); len(r) != 4 || r[0].Args[0].Index != 1 {
		t.Errorf("setns rules = %+v", r)
	}
}

// complementCover must match every 32-bit value but the excluded ones,
// each exactly once.
func TestComplementCover(t *testing.T) {
	cover := complementCover(DeniedIoctls)
	matches := func(v uint64) int {
		n := 0
		for _, c := range cover {
			if v&c.mask == c.value {
				n++
			}
		}
		return n
	}
	for _, v := range []uint64{0, 1, 0x5401, 0x5411, 0x5413, 0x541B, 0x541D, 0x80045430, 0xffffffff, 0x1_00005412} {
		want := 1
		if v&0xffffffff == ioctlTIOCSTI {
			want = 0 // high bits are ignored by the kernel: still TIOCSTI
		}
		if got := matches(v); got != want {
			t.Errorf("%#x matched %d tests, want %d", v, got, want)
		}
	}
	for _, e := range DeniedIoctls {
		if matches(e) != 0 {
			t.Errorf("%#x is allowed", e)
		}
	}
	if len(cover) > 64 {
		t.Errorf("%d tests: the cover should stay small", len(cover))
	}
}

func TestBuildNotify(t *testing.T) {
	s := Build(Policy{Allow: DefaultAllow, DenyErrno: 1, DefaultErrno: 38, Families: DefaultFamilies,
		Mode: Notify, ListenerPath: "/run/x.sock"})
	if s.ListenerPath != "/run/x.sock" {
		t.Errorf("listenerPath = %q", s.ListenerPath)
	}
	for _, r := range s.Syscalls {
		if r.Action == specs.ActErrno && (r.ErrnoRet == nil || *r.ErrnoRet != errnoENOSYS) {
			t.Errorf("in notify mode every refusal goes to the agent, found %+v", r)
		}
	}
	if r := rulesFor(s, "ptrace"); len(r) != 1 || r[0].Action != specs.ActNotify {
		t.Errorf("ptrace = %+v, want SCMP_ACT_NOTIFY", r)
	}
	if n, err := Compile(s); err != nil || n == 0 {
		t.Errorf("notify filter does not compile: %v", err)
	}
}

// The clone mask is exactly the seven CLONE_NEW* flags.
func TestCloneMask(t *testing.T) {
	const (
		newNS     = 0x00020000
		newCgroup = 0x02000000
		newUTS    = 0x04000000
		newIPC    = 0x08000000
		newUser   = 0x10000000
		newPID    = 0x20000000
		newNet    = 0x40000000
	)
	if want := newNS | newCgroup | newUTS | newIPC | newUser | newPID | newNet; cloneNamespaceFlags != want {
		t.Errorf("cloneNamespaceFlags = %#x, want %#x", cloneNamespaceFlags, want)
	}
}

func TestBuildDeterministic(t *testing.T) {
	shuffled := append([]string(nil), DefaultAllow...)
	for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	a, err := json.Marshal(build(DefaultAllow, 1, NativeArch()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(build(shuffled, 1, NativeArch()))
	c, _ := json.Marshal(build(append(shuffled, DefaultAllow...), 1, NativeArch()))
	if string(a) != string(b) || string(a) != string(c) {
		t.Errorf("Build output depends on input order or duplicates")
	}
	s := build(DefaultAllow, 1, NativeArch())
	names := s.Syscalls[0].Names
	if !sort.StringsAreSorted(names) {
		t.Errorf("names not sorted")
	}
	if want := len(DefaultAllow) - 6; len(names) != want { // clone, clone3, personality, unshare, socket, ioctl
		t.Errorf("%d plain names, want %d (DefaultAllow has duplicates?)", len(names), want)
	}
}

func TestBuildErrno(t *testing.T) {
	s := Build(Policy{Allow: []string{"read"}, DenyErrno: 1, DefaultErrno: 38, Arches: []specs.Arch{specs.ArchAARCH64}})
	if *s.DefaultErrnoRet != 38 || s.Architectures[0] != specs.ArchAARCH64 {
		t.Errorf("errno %d arch %v", *s.DefaultErrnoRet, s.Architectures)
	}
	// The returned errno pointer is not shared between filters.
	s2 := Build(Policy{Allow: []string{"read"}, DenyErrno: 1, DefaultErrno: 13})
	if *s.DefaultErrnoRet != 38 || *s2.DefaultErrnoRet != 13 {
		t.Errorf("errno pointers shared")
	}
}

func TestDefaultAllow(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range DefaultAllow {
		if seen[n] {
			t.Errorf("%q listed twice", n)
		}
		seen[n] = true
	}
	// Left out on purpose (see the comment on DefaultAllow).
	for _, n := range []string{"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "move_mount",
		"open_tree", "setns", "ptrace", "process_vm_readv", "process_vm_writev", "bpf",
		"perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
		"init_module", "finit_module", "delete_module", "open_by_handle_at", "io_uring_setup", "io_uring_enter",
		"io_uring_register", "acct", "swapon", "swapoff", "reboot", "syslog", "quotactl", "iopl", "ioperm",
		"settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname", "setdomainname"} {
		if seen[n] {
			t.Errorf("dangerous syscall %q is in DefaultAllow", n)
		}
	}
	for _, n := range []string{"read", "write", "openat", "execve", "exit_group", "mmap", "futex", "rt_sigreturn"} {
		if !seen[n] {
			t.Errorf("essential syscall %q missing", n)
		}
	}
}

// Every name in the default allowlist is a syscall libseccomp knows on the
// native architecture: the list has no typos.
func TestDefaultAllowNamesValid(t *testing.T) {
	arch := NativeArch()
	for _, n := range DefaultAllow {
		if err := CheckName(n, arch); err != nil {
			t.Errorf("DefaultAllow: %v", err)
		}
	}
}

// extraKnown feeds suggestions: its names must be real too.
func TestExtraKnownNamesValid(t *testing.T) {
	for _, n := range extraKnown {
		if err := CheckName(n, specs.ArchX86_64); err != nil {
			t.Errorf("extraKnown: %v", err)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		arch specs.Arch
		want string // "" = OK
	}{
		{"read", specs.ArchX86_64, ""},
		{"openat", specs.ArchX86_64, ""},
		{"ptrace", specs.ArchX86_64, ""},
		{"arch_prctl", specs.ArchX86_64, ""},
		{"opneat", specs.ArchX86_64, `syscall "opneat": unknown syscall (did you mean "openat"?)`},
		{"mmount", specs.ArchX86_64, `syscall "mmount": unknown syscall (did you mean "mount"?)`},
		{"qqqqqqqqqqqq", specs.ArchX86_64, `syscall "qqqqqqqqqqqq": unknown syscall (not known to libseccomp ` + LibVersion() + ")"},
		{"", specs.ArchX86_64, `syscall "": unknown syscall`},
		{"_llseek", specs.ArchX86_64, `syscall "_llseek": not a syscall on SCMP_ARCH_X86_64`},
		{"arm_fadvise64_64", specs.ArchX86_64, `syscall "arm_fadvise64_64": not a syscall on SCMP_ARCH_X86_64`},
		{"socketcall", specs.ArchX86_64, `not a syscall on SCMP_ARCH_X86_64`},
		{"arch_prctl", specs.ArchAARCH64, `syscall "arch_prctl": not a syscall on SCMP_ARCH_AARCH64`},
		{"open", specs.ArchAARCH64, `syscall "open": not a syscall on SCMP_ARCH_AARCH64`},
		{"openat", specs.ArchAARCH64, ""},
		{"arm_fadvise64_64", specs.ArchARM, ""},
		{"_llseek", specs.ArchX86, ""},
		// Argument-filtered syscalls are valid names; Build adds their rules.
		{"clone", specs.ArchX86_64, ""},
		{"clone3", specs.ArchX86_64, ""},
		{"personality", specs.ArchX86_64, ""},
		{"read", specs.Arch("SCMP_ARCH_PDP11"), `seccomp architecture "SCMP_ARCH_PDP11" is not supported`},
	}
	for _, tt := range tests {
		err := CheckName(tt.name, tt.arch)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckName(%q, %s) = %v, want nil", tt.name, tt.arch, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckName(%q, %s) = %v, want %q", tt.name, tt.arch, err, tt.want)
		}
	}
	var ne *NameError
	if err := CheckName("opneat", specs.ArchX86_64); !errors.As(err, &ne) || ne.Name != "opneat" {
		t.Errorf("CheckName error %T %v is not a *NameError for opneat", err, err)
	}
}

func TestGroup(t *testing.T) {
	g, err := Group("default")
	if err != nil || !reflect.DeepEqual(g, DefaultAllow) {
		t.Errorf("Group(default) = %d names, %v", len(g), err)
	}
	if _, err := Group("nosuch"); err == nil || !strings.HasPrefix(err.Error(), `unknown syscall group "@nosuch" (valid: @aio, `) {
		t.Errorf("Group(nosuch) = %v", err)
	}
}

func TestLibVersion(t *testing.T) {
	v := LibVersion()
	if !strings.HasPrefix(v, "2.") || strings.Count(v, ".") != 2 {
		t.Errorf("LibVersion() = %q", v)
	}
}

func TestCompile(t *testing.T) {
	n, err := Compile(build(DefaultAllow, 1, NativeArch()))
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Fatalf("Compile = %d instructions", n)
	}
	// A BPF program is at most 4096 instructions (BPF_MAXINSNS).
	if n > 4096 {
		t.Errorf("Compile = %d instructions, above the kernel's limit", n)
	}
	small, err := Compile(build([]string{"read", "write", "exit_group"}, 13, NativeArch()))
	if err != nil {
		t.Fatal(err)
	}
	if small <= 0 || small >= n {
		t.Errorf("3-name filter has %d instructions, the default %d", small, n)
	}
	// Deterministic.
	if n2, err := Compile(build(DefaultAllow, 1, NativeArch())); err != nil || n2 != n {
		t.Errorf("second Compile = %d, %v; first %d", n2, err, n)
	}
}

func TestCompileUnknownName(t *testing.T) {
	_, err := Compile(build([]string{"read", "opneat"}, 1, NativeArch()))
	var ne *NameError
	if !errors.As(err, &ne) || ne.Name != "opneat" {
		t.Errorf("Compile with a bad name = %v, want a NameError for opneat", err)
	}
}

func TestCompileUnsupportedArch(t *testing.T) {
	s := build([]string{"read"}, 1, specs.Arch("SCMP_ARCH_PDP11"))
	if _, err := Compile(s); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Compile(PDP11) = %v", err)
	}
}

func TestCompileForeignArch(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 host expected")
	}
	// A filter for another architecture only: native arch is removed.
	n, err := Compile(build([]string{"read", "write"}, 1, specs.ArchAARCH64))
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Errorf("n = %d", n)
	}
}

// A profile may set seccomp.default-errno: ENOSYS (validation accepts it);
// the filter must still compile.
func TestCompileDefaultErrnoENOSYS(t *testing.T) {
	_, err := Compile(build(DefaultAllow, errnoENOSYS, NativeArch()))
	if err != nil {
		t.Fatalf("regression: Compile(Build(allow, 38 /* ENOSYS */, arch)) fails: %v; "+
			"Build always adds the clone3 ENOSYS rule, which equals the default action when the default errno is ENOSYS, "+
			"and libseccomp refuses a rule that matches the default action. "+
			"Build should omit the clone3 rule (or Compile skip it) when errno == ENOSYS", err)
	}
}

// With compat ABIs open the filter must still compile (libseccomp refuses
// per-family socket rules on i386, where socket calls go through
// socketcall), so the families are not filtered then.
func TestBuildCompatABIsCompiles(t *testing.T) {
	p := DefaultPolicy()
	p.Arches = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	s := Build(p)
	if _, err := Compile(s); err != nil {
		t.Fatalf("a filter with compat ABIs does not compile: %v", err)
	}
	if r := rulesFor(s, "socket"); len(r) != 1 || r[0].Action != specs.ActAllow || len(r[0].Args) != 0 {
		t.Errorf("socket rules with compat ABIs = %+v", r)
	}
}
