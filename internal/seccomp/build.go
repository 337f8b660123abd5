package seccomp

import (
	"runtime"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// errnoENOSYS is returned for clone3: glibc and musl then fall back to clone.
const errnoENOSYS = 38

// NativeArch is the OCI name of the architecture safe-run was built for.
// Filters list only this ABI: the 32-bit ABIs (i386, x32) stay closed, and
// libseccomp compiles one architecture in ~3 ms instead of ~17 ms for three
// (docs/performance.md).
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

// Build returns the OCI seccomp object for an allowlist: every name in
// allow is permitted, clone/clone3/personality get their argument rules,
// and every other syscall fails with errno. allow must already be
// validated (Validate); Build is pure and its output is sorted, so the
// same input always gives the same JSON.
func Build(allow []string, errno uint, arch specs.Arch) *specs.LinuxSeccomp {
	names := append([]string(nil), allow...)
	sort.Strings(names)
	names = compact(names)
	errnoRet := errno
	enosys := uint(errnoENOSYS)
	rules := []specs.LinuxSyscall{
		{Names: names, Action: specs.ActAllow},
		{
			Names:  []string{"clone"},
			Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{
				Index: 0, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual,
			}},
		},
	}
	if errno != errnoENOSYS {
		// With ENOSYS as the default the rule would equal the default
		// action, which libseccomp (and so runc) refuses.
		rules = append(rules, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})
	}
	// personality(2) values Docker allows: PER_LINUX, PER_LINUX32,
	// UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff.
	rules = append(rules, personality(0x0), personality(0x8), personality(0x20000), personality(0x20008),
		personality(0xffffffff))
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &errnoRet,
		Architectures:   []specs.Arch{arch},
		Syscalls:        rules,
	}
}

func personality(v uint64) specs.LinuxSyscall {
	return specs.LinuxSyscall{
		Names:  []string{"personality"},
		Action: specs.ActAllow,
		Args:   []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}},
	}
}

// compact removes adjacent duplicates from a sorted slice.
func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
