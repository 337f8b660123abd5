// Package host probes, once per run, the facts about this machine that the
// spec depends on. Everything else (plan, spec) takes these as values and
// never reads the host itself.
package host

// Facts is what safe-run knows about the host and the caller.
type Facts struct {
	UID, GID   uint32 // the caller's effective ids
	Rootless   bool   // not root: runc runs rootless, ids are mapped
	UserName   string // for /etc/passwd inside and /etc/subuid lookups
	Home       string // the caller's home (never mounted unless a profile asks)
	Cwd        string // where safe-run was started (for "./" bind sources)
	SubUIDs    []IDRange
	SubGIDs    []IDRange
	HaveIDMaps bool // newuidmap/newgidmap are installed (needed for subordinate ids)

	Cgroup Cgroup

	// UsrMerge maps top-level names (bin, sbin, lib, lib64, ...) to their
	// symlink target when they are symlinks (a usr-merged host), and to ""
	// when they are real directories that must be bound.
	UsrMerge map[string]string
	// EtcEntries are the names in /etc that exist, among those the host
	// view may bind.
	EtcEntries []string

	// HardLimits are the caller's current hard rlimits by lower-case name
	// ("nofile"): nothing can go above them without CAP_SYS_RESOURCE.
	HardLimits map[string]uint64

	InitPath string // safe-run-init on the host

	// SELinuxEnabled: the host has SELinux on (enforcing or permissive).
	SELinuxEnabled bool
}

// IDRange is one line of /etc/subuid or /etc/subgid.
type IDRange struct {
	Start, Count uint32
}

// Cgroup describes what cgroup limits can be applied.
type Cgroup struct {
	// Mode is "v1" (legacy), "hybrid" (v1 controllers + a v2 mount) or "v2".
	Mode string
	// Usable reports, per controller (memory, cpu, pids), whether runc can
	// apply that limit for this caller.
	Usable map[string]bool
	// Why says, for unusable controllers, why not and how to fix it.
	Why string
	// Systemd is set when rootless limits must go through systemd
	// delegation (cgroup v2 with a delegated user slice).
	Systemd bool
}
