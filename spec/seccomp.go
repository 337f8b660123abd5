package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// WithSeccomp replaces the syscall filter. A nil filter removes it
// (unsafe.disable-seccomp); an empty one is refused, because runc treats
// an empty seccomp object as "no filter at all".
func WithSeccomp(filter *specs.LinuxSeccomp) Opt {
	return func(s *specs.Spec) error {
		if filter != nil && len(filter.Syscalls) == 0 {
			return errEmptySeccomp
		}
		s.Linux.Seccomp = filter
		return nil
	}
}

var errEmptySeccomp = &specError{"seccomp filter has no rules: runc would run without any filter"}

type specError struct{ msg string }

func (e *specError) Error() string { return e.msg }
