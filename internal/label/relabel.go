package label

import (
	"fmt"
	"path/filepath"
	"strings"
)

// systemPaths may never be relabelled: changing their labels would break
// the host (go-selinux refuses a few; safe-run refuses more, and the
// caller's home).
var systemPaths = []string{
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
	"/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
	"/usr", "/var", "/var/lib", "/var/log", "/var/tmp",
}

// CheckRelabel refuses paths that must keep their labels: system
// directories, anything directly under /usr or /etc, and the home itself.
func CheckRelabel(path, home string) error {
	clean := filepath.Clean(path)
	for _, p := range systemPaths {
		if clean == p {
			return fmt.Errorf("refusing to relabel %s: it is a system directory; bind a directory of your own", clean)
		}
	}
	for _, p := range []string{"/usr/", "/etc/", "/boot/", "/proc/", "/sys/", "/dev/"} {
		if strings.HasPrefix(clean+"/", p) {
			return fmt.Errorf("refusing to relabel %s: it is under %s; bind a directory of your own", clean, strings.TrimSuffix(p, "/"))
		}
	}
	if home != "" && clean == filepath.Clean(home) {
		return fmt.Errorf("refusing to relabel %s: it is your whole home; bind the subdirectory the program needs", clean)
	}
	return nil
}

// Relabel labels path for the container: shared (":z") gives level s0,
// usable by every container; private (":Z") the container's own pair.
func (a *Allocator) Relabel(path, home string, l Labels, shared bool) error {
	if err := CheckRelabel(path, home); err != nil {
		return err
	}
	return a.Backend.Relabel(path, l.Mount, shared)
}
