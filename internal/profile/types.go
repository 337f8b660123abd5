// Package profile holds the profile schema, its strict YAML decoding, the
// search path, `extends` resolution with merging, and validation.
//
// A profile file is decoded into File (every field optional, so a child can
// tell "not set" from "set to the zero value"); a chain of Files is merged
// into one File; the merged File is validated once into a Resolved profile,
// a plain value with defaults filled in that the spec builder consumes.
package profile

// File is one profile document as written. Pointer and nil-able fields mean
// "inherit from the parent" when absent. The yaml tags are the public field
// names; docs/profiles.md documents each one.
type File struct {
	Description *string `yaml:"description"`
	Extends     *string `yaml:"extends"`

	// Command is the default command when the user gives none.
	Command  []string `yaml:"command"`
	Env      *Env     `yaml:"env"`
	Workdir  *string  `yaml:"workdir"`
	User     *string  `yaml:"user"`
	Hostname *string  `yaml:"hostname"`

	// Rootfs is "host" (a read-only view of the host's system dirs) or a
	// directory holding a root filesystem.
	Rootfs *string `yaml:"rootfs"`

	Tmpfs []Tmpfs `yaml:"tmpfs"`
	Binds []Bind  `yaml:"binds"`

	Capabilities *AddRemove `yaml:"capabilities"`
	Seccomp      *Seccomp   `yaml:"seccomp"`
	Network      *string    `yaml:"network"`
	Resources    *Resources `yaml:"resources"`

	// Rlimits maps a resource name (nofile, nproc, core, ...) to its limits.
	Rlimits map[string]Rlimit `yaml:"rlimits"`

	SELinux *SELinux `yaml:"selinux"`

	MaskedPaths   *AddRemove `yaml:"masked-paths"`
	ReadonlyPaths *AddRemove `yaml:"readonly-paths"`

	Unsafe *Unsafe `yaml:"unsafe"`

	// origin records where each field path was written, so that errors
	// found after merging still point at a file:line:col.
	origin map[string]Pos
}

// Pos locates a field in a profile file.
type Pos struct {
	File      string
	Line, Col int
	// Path is the field path as written in File; after a merge it can
	// differ from the merged path (list items move).
	Path string
}

// Env sets variables and names those passed through from the caller.
type Env struct {
	Set  map[string]string `yaml:"set"`
	Pass []string          `yaml:"pass"`
}

// Tmpfs is a private in-memory mount; it is always nosuid,nodev and noexec
// unless Exec is set.
type Tmpfs struct {
	Path string `yaml:"path"`
	Size Size   `yaml:"size"`
	Mode *Mode  `yaml:"mode"`
	Exec bool   `yaml:"exec"`
}

// Bind is a host path made visible in the container, read-only unless
// Writable is set.
type Bind struct {
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	Writable bool   `yaml:"writable"`
	// Optional skips the bind when the source does not exist instead of failing.
	Optional bool `yaml:"optional"`
	// Relabel gives the source the container's SELinux file label before
	// the run: "shared" (level s0, like docker's :z) or "private" (the
	// container's own pair, like :Z). System paths are refused.
	Relabel string `yaml:"relabel"`
}

// SELinux sets the container's labels.
type SELinux struct {
	// Mode is "auto" (label when the host has SELinux enabled),
	// "required" (refuse to run without) or "off" (with
	// unsafe.disable-selinux).
	Mode *string `yaml:"mode"`
	// Type is the process type (container_t).
	Type *string `yaml:"type"`
	// Level is "auto" (a unique MCS pair per container) or a fixed level
	// such as "s0:c100,c200" (shared with whoever else uses it).
	Level *string `yaml:"level"`
}

// AddRemove edits an inherited set: Add appends, Remove (applied after the
// parent's Add and before this file's Add) takes names out.
type AddRemove struct {
	Add    []string `yaml:"add"`
	Remove []string `yaml:"remove"`
}

// Seccomp edits the syscall allowlist and its argument rules.
type Seccomp struct {
	// Allow and Deny take syscall names and "@group"s.
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
	// Import names a Docker/OCI seccomp JSON file whose allowed syscalls
	// join Allow (relative to this profile's file).
	Import *string `yaml:"import"`
	// DenyErrno answers known syscalls outside the allowlist (EPERM).
	DenyErrno *string `yaml:"deny-errno"`
	// DefaultErrno answers syscalls safe-run does not know (ENOSYS, so
	// that libc falls back to an older call).
	DefaultErrno *string `yaml:"default-errno"`
	// Architectures opens compat syscall ABIs besides the native one.
	Architectures []string `yaml:"architectures"`
	// Namespaces are the namespace types clone/unshare/setns may create
	// or join ("user", "pid", "net", "ipc", "uts", "mount", "cgroup").
	Namespaces []string `yaml:"namespaces"`
	// SocketFamilies are the address families socket(2) may use, or
	// ["any"].
	SocketFamilies []string `yaml:"socket-families"`
	// SelfSandbox is for programs that sandbox themselves (browsers):
	// user, pid, net and ipc namespaces plus chroot, always together.
	SelfSandbox *bool `yaml:"self-sandbox"`
	// AllowIf allows syscalls outside the allowlist when one argument
	// compares true, e.g. {syscall: prctl, arg: 0, op: eq, value: 15}.
	AllowIf []ArgCondition `yaml:"allow-if"`
}

// ArgCondition allows a syscall when argument Arg (0-based) compares
// true: eq, ne, lt, le, gt, ge against Value, or masked-eq: arg & Mask ==
// Value.
type ArgCondition struct {
	Syscall string   `yaml:"syscall"`
	Arg     int64    `yaml:"arg"`
	Op      string   `yaml:"op"`
	Value   ArgValue `yaml:"value"`
	Mask    ArgValue `yaml:"mask"`
}

// Resources are the cgroup limits.
type Resources struct {
	Memory *Size  `yaml:"memory"`
	CPUs   *CPUs  `yaml:"cpus"`
	Pids   *Count `yaml:"pids"`
	// Required refuses to run when a limit cannot be applied (rootless on a
	// host without cgroup delegation) instead of warning.
	Required *bool `yaml:"required"`
}

// Unsafe holds every switch that weakens a default. Each is named after
// what it disables and is printed as a warning whenever it is in force.
type Unsafe struct {
	DisableReadonlyRoot     *bool `yaml:"disable-readonly-root"`
	DisableNoNewPrivileges  *bool `yaml:"disable-no-new-privileges"`
	DisableSeccomp          *bool `yaml:"disable-seccomp"`
	DisableNetworkIsolation *bool `yaml:"disable-network-isolation"`
	DisableMaskedPaths      *bool `yaml:"disable-masked-paths"`
	DisableResourceLimits   *bool `yaml:"disable-resource-limits"`
	DisableSELinux          *bool `yaml:"disable-selinux"`
}

// Overlay returns an empty File whose fields, once set by the caller, are
// reported as coming from source (e.g. a command-line flag) in errors.
func Overlay() *File {
	return &File{origin: map[string]Pos{}}
}

// SetOrigin records that field path was set by source (e.g. "--memory").
func (f *File) SetOrigin(path, source string) {
	if f.origin == nil {
		f.origin = map[string]Pos{}
	}
	f.origin[path] = Pos{File: source, Path: path}
}
