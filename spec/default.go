// Package spec builds hardened OCI runtime specs.
//
// Default returns a fresh, locked-down spec; each With* option changes one
// concern. Nothing here reads the host: facts about the host come in as
// arguments, so the same inputs always give byte-identical JSON (see the
// golden files in testdata/).
//
// Options are applied in the order given. Order matters only where an
// option's doc says so; internal/plan applies them in the order
// namespaces → mounts → user → capabilities → seccomp → cgroups/resources
// → rlimits → process.
package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/seccomp"
)

// OCIVersion is the runtime-spec version written into config.json: the
// newest that runc 1.1 (Debian 12) accepts, which is also what the spec's
// fields used here need.
const OCIVersion = "1.0.2"

// Opt changes one concern of a spec.
type Opt func(*specs.Spec) error

// Generate applies opts to base in order and returns it.
func Generate(base *specs.Spec, opts ...Opt) (*specs.Spec, error) {
	for _, o := range opts {
		if err := o(base); err != nil {
			return nil, err
		}
	}
	return base, nil
}

// Default standard mount options: no device nodes, no setuid, no exec on
// anything writable.
var (
	optsNoSuidDevExec = []string{"nosuid", "noexec", "nodev"}
)

// DefaultUID and DefaultGID are nobody:nogroup.
const DefaultUID, DefaultGID = 65534, 65534

// Default returns a fresh hardened spec: no capabilities in any set,
// no_new_privs, a read-only root, every namespace but user (and network
// loopback only), masked and read-only /proc and /sys paths, a private
// /tmp-less /dev, the default seccomp allowlist, and a deny-all device
// cgroup. Limits, rlimits, the root path and the process come from options.
func Default() *specs.Spec {
	return &specs.Spec{
		Version: OCIVersion,
		Process: &specs.Process{
			User: specs.User{UID: DefaultUID, GID: DefaultGID},
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cwd:  "/",
			// Present but empty: runc drops every capability. (A nil
			// Capabilities would also be empty in runc 1.1, but spelling
			// it out keeps config.json self-explaining.)
			Capabilities:    &specs.LinuxCapabilities{Bounding: []string{}, Effective: []string{}, Permitted: []string{}},
			NoNewPrivileges: true,
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
			},
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "safe-run",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: optsNoSuidDevExec},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: optsNoSuidDevExec},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			// The union of runc's, Docker's and Podman's lists.
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
				"/proc/timer_stats", "/sys/dev/block", "/sys/devices/virtual/powercap",
				"/sys/firmware", "/sys/fs/selinux",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
			Resources: &specs.LinuxResources{
				// Deny every device; runc then allows only its standard
				// set (null, zero, full, random, urandom, tty, ptmx).
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Seccomp: seccomp.Build(seccomp.DefaultPolicy()),
		},
	}
}
