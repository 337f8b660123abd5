package spec

import (
	"fmt"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WithRoot sets the root filesystem path (relative paths are relative to
// the bundle) and whether it is mounted read-only.
func WithRoot(rootPath string, readonly bool) Opt {
	return func(s *specs.Spec) error {
		s.Root = &specs.Root{Path: rootPath, Readonly: readonly}
		return nil
	}
}

// WithTmpfs adds a private tmpfs of size bytes with the given mode, owned
// by uid:gid (the container's user, so a 0700 home is usable). It is
// nosuid and nodev always, noexec unless exec is set.
func WithTmpfs(dest string, size int64, mode uint32, exec bool, uid, gid uint32) Opt {
	return func(s *specs.Spec) error {
		opts := []string{"nosuid", "nodev"}
		if !exec {
			opts = append(opts, "noexec")
		}
		opts = append(opts, fmt.Sprintf("mode=%o", mode), fmt.Sprintf("size=%d", size),
			fmt.Sprintf("uid=%d", uid), fmt.Sprintf("gid=%d", gid))
		return addMount(s, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
}

// WithBind binds the host path source at dest, read-only unless writable;
// always nosuid and nodev. Apply after any mount above dest.
func WithBind(source, dest string, writable bool) Opt {
	return func(s *specs.Spec) error {
		mode := "ro"
		if writable {
			mode = "rw"
		}
		return addMount(s, specs.Mount{Destination: dest, Type: "bind", Source: source,
			Options: []string{"rbind", mode, "nosuid", "nodev"}})
	}
}

// WithCgroupMount mounts the container's own cgroup (cgroup namespace
// root) read-only at /sys/fs/cgroup, so safe-run's init can read back the
// limits in force before the program starts.
func WithCgroupMount() Opt {
	return func(s *specs.Spec) error {
		return addMount(s, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	}
}

// WithMaskedPaths adds paths hidden from the container (/dev/null over
// files, an empty read-only tmpfs over directories).
func WithMaskedPaths(paths ...string) Opt {
	return func(s *specs.Spec) error {
		s.Linux.MaskedPaths = appendUnique(s.Linux.MaskedPaths, paths...)
		return nil
	}
}

// WithReadonlyPaths adds paths remounted read-only.
func WithReadonlyPaths(paths ...string) Opt {
	return func(s *specs.Spec) error {
		s.Linux.ReadonlyPaths = appendUnique(s.Linux.ReadonlyPaths, paths...)
		return nil
	}
}

// WithoutMaskedPaths clears the masked and read-only path lists
// (unsafe.disable-masked-paths).
func WithoutMaskedPaths() Opt {
	return func(s *specs.Spec) error {
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		return nil
	}
}

// addMount appends m, refusing a second mount at the same destination and
// destinations that are relative or unclean (they could escape the root).
func addMount(s *specs.Spec, m specs.Mount) error {
	if !path.IsAbs(m.Destination) || path.Clean(m.Destination) != m.Destination || m.Destination == "/" {
		return fmt.Errorf("mount destination %q must be an absolute, clean path other than /", m.Destination)
	}
	for _, old := range s.Mounts {
		if old.Destination == m.Destination {
			return fmt.Errorf("two mounts at %s: remove one", m.Destination)
		}
	}
	s.Mounts = append(s.Mounts, m)
	return nil
}

func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
