package spec

import (
	"fmt"
	"path"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WithProcess sets the program, its environment (sorted for stable
// output) and working directory.
func WithProcess(args, env []string, cwd string) Opt {
	return func(s *specs.Spec) error {
		if len(args) == 0 || args[0] == "" {
			return fmt.Errorf("no command to run: give one after -- or set command: in the profile")
		}
		if !path.IsAbs(cwd) {
			return fmt.Errorf("working directory %q is not absolute", cwd)
		}
		e := append([]string(nil), env...)
		sort.Strings(e)
		s.Process.Args = append([]string(nil), args...)
		s.Process.Env = e
		s.Process.Cwd = cwd
		return nil
	}
}

// WithTerminal gives the process a pseudo-terminal (runc allocates it).
func WithTerminal(on bool) Opt {
	return func(s *specs.Spec) error {
		s.Process.Terminal = on
		return nil
	}
}

// WithUser sets the uid and gid the program runs as; the supplementary
// group list is exactly gids (no groups are inherited).
func WithUser(uid, gid uint32, gids ...uint32) Opt {
	return func(s *specs.Spec) error {
		s.Process.User = specs.User{UID: uid, GID: gid, AdditionalGids: gids}
		return nil
	}
}

// WithHostname sets the UTS hostname.
func WithHostname(name string) Opt {
	return func(s *specs.Spec) error {
		s.Hostname = name
		return nil
	}
}

// WithNoNewPrivileges sets no_new_privs (on in Default).
func WithNoNewPrivileges(on bool) Opt {
	return func(s *specs.Spec) error {
		s.Process.NoNewPrivileges = on
		return nil
	}
}

// WithInit makes initPath (a host file, bound read-only at InitDest) the
// container's PID 1 with initArgs, followed by "--" and the program's
// args. Apply after WithProcess.
func WithInit(initPath string, initArgs ...string) Opt {
	return func(s *specs.Spec) error {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: InitDest, Type: "bind", Source: initPath,
			Options: []string{"bind", "ro", "nosuid", "nodev"},
		})
		args := append([]string{InitDest}, initArgs...)
		s.Process.Args = append(append(args, "--"), s.Process.Args...)
		return nil
	}
}

// InitDest is where safe-run's init is bound inside the container. It is
// under /dev, a tmpfs that runc creates, so the mount point never touches
// a user's root filesystem.
const InitDest = "/dev/.safe-run-init"
