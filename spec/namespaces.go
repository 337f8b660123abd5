package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// WithHostNetwork removes the network namespace so the host's network is
// shared (unsafe.disable-network-isolation). Without it the container
// has only a loopback interface.
func WithHostNetwork() Opt {
	return func(s *specs.Spec) error {
		s.Linux.Namespaces = withoutNamespace(s.Linux.Namespaces, specs.NetworkNamespace)
		// sysfs cannot be mounted without a network namespace of our
		// own; bind the host's read-only instead (as runc does rootless).
		for i, m := range s.Mounts {
			if m.Destination == "/sys" {
				s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys",
					Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		}
		return nil
	}
}

// WithUserNamespace adds a user namespace with the given id maps (rootless
// runs). devpts loses its gid=5 option because group 5 is usually not
// mapped.
func WithUserNamespace(uidMaps, gidMaps []specs.LinuxIDMapping) Opt {
	return func(s *specs.Spec) error {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = uidMaps
		s.Linux.GIDMappings = gidMaps
		for i, m := range s.Mounts {
			if m.Type == "devpts" {
				s.Mounts[i].Options = removeString(m.Options, "gid=5")
			}
		}
		return nil
	}
}

func withoutNamespace(ns []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, n := range ns {
		if n.Type != t {
			out = append(out, n)
		}
	}
	return out
}

func removeString(list []string, v string) []string {
	var out []string
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
