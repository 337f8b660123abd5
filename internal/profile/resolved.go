package profile

import (
	"strings"

	"github.com/safe-run/safe-run/internal/seccomp"
)

// Resolved is a merged and validated profile with every default filled
// in: a plain value, no I/O, ready for the spec builder.
type Resolved struct {
	Name        string
	Source      string   // the file that defined Name (after the search path)
	Chain       []string // sources from the base profile to Name
	Description string

	Command  []string
	EnvSet   map[string]string
	EnvPass  []string
	Workdir  string
	User     User
	Hostname string
	Rootfs   string // RootfsHost or an absolute directory

	Tmpfs []Tmpfs
	Binds []Bind

	Capabilities   []string // canonical CAP_* names, sorted
	Seccomp        SeccompSettings
	SELinux        SELinuxSettings
	Network        string
	Memory         int64   // bytes; 0 = no limit
	CPUs           float64 // 0 = no limit
	Pids           int64   // 0 = no limit
	LimitsRequired bool
	Rlimits        map[string]Rlimit // keys are lower-case names without RLIMIT_
	MaskedPaths    []string
	ReadonlyPaths  []string

	Unsafe UnsafeSwitches
}

// SeccompSettings are the resolved seccomp fields.
type SeccompSettings struct {
	Allow          []string // validated syscall names, sorted
	DenyErrno      uint     // known syscalls outside Allow
	DefaultErrno   uint     // syscalls safe-run does not know
	Architectures  []string // compat ABIs opened besides the native one, sorted
	Namespaces     []string // namespace types clone/unshare/setns may use, sorted
	SocketFamilies []string // nil: any family
	SelfSandbox    bool
	Conditions     []seccomp.Condition // allow-if
}

// SELinuxSettings are the resolved selinux fields.
type SELinuxSettings struct {
	Mode  string // SELinuxAuto, SELinuxRequired or SELinuxOff
	Type  string // process type, e.g. container_t
	Level string // LevelAuto or a fixed MCS level
}

// SELinux modes and the automatic level.
const (
	SELinuxAuto     = "auto"
	SELinuxRequired = "required"
	SELinuxOff      = "off"
	LevelAuto       = "auto"
)

// User is the identity the program runs as.
type User struct {
	Invoking bool // the caller's own uid/gid
	UID, GID uint32
}

// UnsafeSwitches are the resolved unsafe.* switches.
type UnsafeSwitches struct {
	DisableReadonlyRoot     bool
	DisableNoNewPrivileges  bool
	DisableSeccomp          bool
	DisableNetworkIsolation bool
	DisableMaskedPaths      bool
	DisableResourceLimits   bool
	DisableSELinux          bool
}

// Rootfs and network values.
const (
	RootfsHost  = "host"
	NetworkNone = "none"
	NetworkHost = "host"
	// NetworkPrivate keeps the container's own network namespace and
	// connects it to the outside through pasta (user-mode networking).
	NetworkPrivate = "private"
)

// Warnings names every default this profile weakens, one line each, for
// printing at run time.
func (r *Resolved) Warnings() []string {
	var w []string
	add := func(on bool, field, what string) {
		if on {
			w = append(w, "profile "+quote(r.Name)+": "+field+": "+what)
		}
	}
	u := r.Unsafe
	add(u.DisableReadonlyRoot, "unsafe.disable-readonly-root", "the root filesystem is writable")
	add(u.DisableNoNewPrivileges, "unsafe.disable-no-new-privileges", "setuid/setcap binaries can gain privileges")
	add(u.DisableSeccomp, "unsafe.disable-seccomp", "no syscall filter: every syscall reaches the kernel")
	add(u.DisableNetworkIsolation, "unsafe.disable-network-isolation", "the host's network namespace is shared")
	add(r.Network == NetworkPrivate, "network", "private: the container can connect to every address this host can reach "+
		"(user-mode networking through pasta), not only loopback")
	sc := r.Seccomp
	add(sc.SelfSandbox, "seccomp.self-sandbox", "the program may create user, pid, net and ipc namespaces and chroot (for its own sandbox)")
	add(!sc.SelfSandbox && len(sc.Namespaces) > 0, "seccomp.namespaces", "the program may create namespaces: "+strings.Join(sc.Namespaces, ", "))
	add(len(sc.Architectures) > 0, "seccomp.architectures", "compat syscall ABIs are open: "+strings.Join(sc.Architectures, ", "))
	add(len(sc.Architectures) > 0 && sc.SocketFamilies != nil, "seccomp.socket-families",
		"not enforced while compat ABIs are open (i386 reaches sockets through socketcall): every family is allowed")
	add(sc.SocketFamilies == nil && !u.DisableSeccomp, "seccomp.socket-families", "every socket address family is allowed")
	add(u.DisableSELinux, "unsafe.disable-selinux", "no SELinux labels: containers are not kept apart by MCS categories")
	add(u.DisableMaskedPaths, "unsafe.disable-masked-paths", "/proc and /sys paths that leak host information are visible")
	add(u.DisableResourceLimits && r.Memory == 0, "unsafe.disable-resource-limits", "no memory limit")
	add(u.DisableResourceLimits && r.Pids == 0, "unsafe.disable-resource-limits", "no pids limit: a fork bomb can exhaust the host")
	return w
}

func quote(s string) string { return "\"" + s + "\"" }
