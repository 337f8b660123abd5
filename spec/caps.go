package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// WithCapabilities sets the bounding, permitted and effective sets to
// exactly names (canonical CAP_* names). Inheritable and ambient stay
// empty, so nothing is passed across execve to a program that is not
// itself file-capable (and no_new_privs stops those).
func WithCapabilities(names []string) Opt {
	return func(s *specs.Spec) error {
		set := append([]string{}, names...)
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: set, Permitted: set, Effective: set,
		}
		return nil
	}
}
