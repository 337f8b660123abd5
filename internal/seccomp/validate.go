package seccomp

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/safe-run/safe-run/internal/suggest"
)

// NameError explains why a syscall name cannot be used.
type NameError struct {
	Name string
	Msg  string
}

func (e *NameError) Error() string { return fmt.Sprintf("syscall %q: %s", e.Name, e.Msg) }

// CheckName reports whether libseccomp knows name on arch: "unknown" (a
// typo; with a suggestion) is told apart from "not on this architecture",
// and names with safe-run's own argument rule are refused.
func CheckName(name string, arch specs.Arch) error {
	a, err := scmpArch(arch)
	if err != nil {
		return err
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, a)
	if err != nil {
		if best := closestName(name); best != "" {
			return &NameError{name, fmt.Sprintf("unknown syscall (did you mean %q?)", best)}
		}
		return &NameError{name, "unknown syscall (not known to libseccomp " + LibVersion() + ")"}
	}
	if nr < 0 {
		// libseccomp knows the name from another architecture only.
		return &NameError{name, "not a syscall on " + string(arch)}
	}
	return nil
}

// Compile builds (but does not load) the BPF program for s with
// libseccomp, the same library runc uses, so that anything runc would
// refuse is refused here first. It returns the number of BPF instructions.
func Compile(s *specs.LinuxSeccomp) (int, error) {
	f, err := newFilter(s)
	if err != nil {
		return 0, err
	}
	defer f.Release()
	bpf, err := export(f.ExportBPF)
	if err != nil {
		return 0, fmt.Errorf("libseccomp could not compile the filter: %w", err)
	}
	return len(bpf) / 8, nil // one BPF instruction is 8 bytes
}

// newFilter loads s into a libseccomp filter (Compile, PFC); the caller
// releases it.
func newFilter(s *specs.LinuxSeccomp) (*libseccomp.ScmpFilter, error) {
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(int16(*s.DefaultErrnoRet)))
	if err != nil {
		return nil, err
	}
	if err := addRules(f, s); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

// actions and operators map the OCI names to libseccomp's, as runc does.
var (
	actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
		specs.ActAllow: libseccomp.ActAllow, specs.ActErrno: libseccomp.ActErrno, specs.ActKill: libseccomp.ActKillThread,
		specs.ActKillThread: libseccomp.ActKillThread, specs.ActKillProcess: libseccomp.ActKillProcess,
		specs.ActTrap: libseccomp.ActTrap, specs.ActTrace: libseccomp.ActTrace, specs.ActLog: libseccomp.ActLog,
		specs.ActNotify: libseccomp.ActNotify,
	}
	operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
		specs.OpEqualTo: libseccomp.CompareEqual, specs.OpNotEqual: libseccomp.CompareNotEqual,
		specs.OpLessThan: libseccomp.CompareLess, specs.OpLessEqual: libseccomp.CompareLessOrEqual,
		specs.OpGreaterThan: libseccomp.CompareGreater, specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
		specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
	}
)

func addRules(f *libseccomp.ScmpFilter, s *specs.LinuxSeccomp) error {
	for _, arch := range s.Architectures {
		a, err := scmpArch(arch)
		if err != nil {
			return err
		}
		if err := f.AddArch(a); err != nil {
			return err
		}
	}
	native, _ := libseccomp.GetNativeArch()
	if len(s.Architectures) > 0 && !contains(s.Architectures, native) {
		_ = f.RemoveArch(native)
	}
	for _, rule := range s.Syscalls {
		act, ok := actions[rule.Action]
		if !ok {
			return fmt.Errorf("seccomp action %q is not supported", rule.Action)
		}
		if rule.ErrnoRet != nil && (rule.Action == specs.ActErrno || rule.Action == specs.ActTrace) {
			act = act.SetReturnCode(int16(*rule.ErrnoRet))
		}
		var conds []libseccomp.ScmpCondition
		for _, a := range rule.Args {
			op, ok := operators[a.Op]
			if !ok {
				return fmt.Errorf("seccomp operator %q is not supported", a.Op)
			}
			c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
			if err != nil {
				return err
			}
			conds = append(conds, c)
		}
		for _, name := range rule.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				return &NameError{name, "unknown syscall"}
			}
			if len(conds) == 0 {
				err = f.AddRule(nr, act)
			} else {
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return fmt.Errorf("seccomp rule for %q: %w", name, err)
			}
		}
	}
	return nil
}

// export collects what write (a filter's ExportBPF or ExportPFC) writes
// to a file descriptor.
func export(write func(*os.File) error) ([]byte, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	done := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(r)
		r.Close()
		done <- data
	}()
	err = write(w)
	w.Close()
	data := <-done
	return data, err
}

// LibVersion is the libseccomp version linked into safe-run.
func LibVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

func scmpArch(arch specs.Arch) (libseccomp.ScmpArch, error) {
	a, err := libseccomp.GetArchFromString(map[specs.Arch]string{
		specs.ArchX86_64: "amd64", specs.ArchX86: "x86", specs.ArchX32: "x32",
		specs.ArchAARCH64: "arm64", specs.ArchARM: "arm", specs.ArchPPC64LE: "ppc64le",
		specs.ArchS390X: "s390x", specs.ArchRISCV64: "riscv64",
	}[arch])
	if err != nil {
		return 0, fmt.Errorf("seccomp architecture %q is not supported", arch)
	}
	return a, nil
}

func contains(archs []specs.Arch, native libseccomp.ScmpArch) bool {
	for _, a := range archs {
		if x, err := scmpArch(a); err == nil && x == native {
			return true
		}
	}
	return false
}

// closestName suggests a known syscall close to a misspelt one.
func closestName(name string) string {
	return suggest.Closest(name, append(append([]string(nil), DefaultAllow...), extraKnown...))
}

// extraKnown are syscalls outside the default allowlist that profiles
// commonly add, so that typos of them get a suggestion too.
var extraKnown = []string{
	"chroot", "mount", "umount2", "pivot_root", "unshare", "setns", "ptrace", "bpf",
	"perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "syslog",
	"sethostname", "setdomainname", "settimeofday", "clock_settime", "adjtimex",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"open_by_handle_at", "name_to_handle_at", "process_vm_readv", "process_vm_writev",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init", "fanotify_mark",
	"quotactl", "swapon", "swapoff", "reboot", "acct", "iopl", "ioperm", "vhangup",
	"mbind", "set_mempolicy", "move_pages", "migrate_pages", "pidfd_getfd", "kcmp",
	"lookup_dcookie", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "fspick",
	"mount_setattr", "clock_adjtime",
}

// GroupOnArch returns the syscalls of group NAME that exist on arch: a
// group lists the syscalls of every architecture, a filter needs only the
// ones its ABI has.
func GroupOnArch(name string, arch specs.Arch) ([]string, error) {
	all, err := Group(name)
	if err != nil {
		return nil, err
	}
	a, err := scmpArch(arch)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(all))
	for _, n := range all {
		if nr, err := libseccomp.GetSyscallFromNameByArch(n, a); err == nil && nr >= 0 {
			out = append(out, n)
		}
	}
	return out, nil
}
