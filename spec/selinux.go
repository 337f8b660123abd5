package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// WithSELinux sets the process label (the container's domain and MCS
// pair) and the mount label, which runc gives to the tmpfs, devpts and
// mqueue mounts it makes (context=). Empty labels leave both unset: runc
// refuses labels on a host without SELinux.
func WithSELinux(process, mount string) Opt {
	return func(s *specs.Spec) error {
		s.Process.SelinuxLabel = process
		s.Linux.MountLabel = mount
		return nil
	}
}
