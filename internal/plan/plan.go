// Package plan turns a resolved profile, the host facts and the user's
// request into everything a run needs: the OCI spec, the files and rootfs
// skeleton of the bundle, the checks safe-run-init makes before the
// program starts, and the warnings to print. It is pure: no host reads,
// so the same inputs always give the same plan (and config.json).
package plan

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/caps"
	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/spec"
)

// Request is what the user asked for on the command line.
type Request struct {
	ID        string   // container id, unique
	Args      []string // command; empty means the profile's command
	CallerEnv []string // the caller's environment, for env.pass
	Terminal  bool
	// BindSources reports which bind sources exist on the host (probed
	// by the caller for the profile's binds).
	BindSources map[string]bool
	// DropControl is a test seam: it removes one control ("nnp",
	// "seccomp", "caps", "readonly", "pids") from the spec while the
	// init still expects it, to prove verification fails closed. It can
	// only make a run fail, never weaken one that starts.
	DropControl string
	// SeccompMode Notify sends syscalls outside the allowlist to the
	// seccomp agent listening on ListenerPath (explain, record).
	SeccompMode  seccomp.Mode
	ListenerPath string
	// ProcessLabel and MountLabel are the SELinux labels allocated for
	// this container (see LabelsWanted); empty when it gets none.
	ProcessLabel, MountLabel string
	// Network is the command line's -p, --dns... and --add-host.
	Network Network
	// RootfsFiles reports which of etc/resolv.conf and etc/hosts are
	// regular files in a rootfs directory (probed by the caller without
	// following symlinks out of it); unused with the host view.
	RootfsFiles map[string]bool
}

// Plan is the complete, host-independent description of one run.
type Plan struct {
	Spec *specs.Spec
	// Files are written into the bundle (relative paths) before the run.
	Files map[string]string
	// Symlinks are created in the bundle's rootfs (host view only).
	Symlinks map[string]string
	// HostView is set when the rootfs is the bundle's own skeleton.
	HostView bool
	// ReadonlyRoot is set when the root is mounted read-only, so its
	// skeleton may be shared between containers.
	ReadonlyRoot bool
	// SystemdCgroup tells the runtime to use the systemd cgroup driver.
	SystemdCgroup bool
	// Pasta, when set (network: private), are the options of the pasta
	// process that connects the container's network namespace to the
	// outside; the runtime adds the namespaces to join.
	Pasta    []string
	Warnings []string
	Notices  []string
}

// cgroupParent is the cgroup under which every safe-run container lives.
const cgroupParent = "/safe-run"

// Build makes the plan.
func Build(r *profile.Resolved, f *host.Facts, req Request) (*Plan, error) {
	p := &Plan{Files: map[string]string{}, Symlinks: map[string]string{}, Warnings: r.Warnings()}
	var opts []spec.Opt
	var checks []string

	// namespaces
	if r.Network == profile.NetworkHost {
		opts = append(opts, spec.WithHostNetwork())
	}
	uid, gid, err := p.identity(r, f)
	if err != nil {
		return nil, err
	}
	if f.Rootless {
		uidMaps, gidMaps := idMaps(f)
		opts = append(opts, spec.WithUserNamespace(uidMaps, gidMaps))
	}

	// mounts and masked paths
	readonlyRoot := !r.Unsafe.DisableReadonlyRoot && req.DropControl != "readonly"
	p.ReadonlyRoot = readonlyRoot
	if r.Rootfs == profile.RootfsHost {
		p.HostView = true
		opts = append(opts, spec.WithRoot("rootfs", readonlyRoot))
		viewOpts, err := p.hostView(r, f, uid, gid)
		if err != nil {
			return nil, err
		}
		opts = append(opts, viewOpts...)
		checks = append(checks, "ro=/usr")
	} else {
		opts = append(opts, spec.WithRoot(r.Rootfs, readonlyRoot))
	}
	if !r.Unsafe.DisableReadonlyRoot {
		checks = append(checks, "ro=/")
	}
	netOpts, netChecks, err := p.network(r, f, req)
	if err != nil {
		return nil, err
	}
	opts = append(opts, netOpts...)
	checks = append(checks, netChecks...)
	for _, t := range r.Tmpfs {
		opts = append(opts, spec.WithTmpfs(t.Path, int64(t.Size), uint32(*t.Mode), t.Exec, uid, gid))
	}
	for _, b := range r.Binds {
		src := BindSource(b.Source, f)
		if err := refuseBindSource(src, b.Writable, f); err != nil {
			return nil, err
		}
		if !req.BindSources[src] {
			if b.Optional {
				p.Notices = append(p.Notices, fmt.Sprintf("optional bind %s -> %s skipped: the source does not exist", src, b.Target))
				continue
			}
			return nil, fmt.Errorf("profile %q: bind source %s does not exist: create it, or mark the bind optional: true", r.Name, src)
		}
		opts = append(opts, spec.WithBind(src, b.Target, b.Writable))
		if !b.Writable {
			checks = append(checks, "ro="+b.Target)
		}
	}
	if r.Unsafe.DisableMaskedPaths {
		opts = append(opts, spec.WithoutMaskedPaths())
	} else {
		opts = append(opts, spec.WithMaskedPaths(r.MaskedPaths...), spec.WithReadonlyPaths(r.ReadonlyPaths...))
	}

	// user and labels
	opts = append(opts, spec.WithUser(uid, gid))
	wanted, err := LabelsWanted(r, f)
	if err != nil {
		return nil, err
	}
	switch {
	case wanted && req.ProcessLabel == "":
		return nil, fmt.Errorf("profile %q: SELinux labels are needed but none were allocated", r.Name)
	case wanted:
		opts = append(opts, spec.WithSELinux(req.ProcessLabel, req.MountLabel))
		if f.Rootless {
			p.Notices = append(p.Notices, "rootless with SELinux: the label applies only if the host policy lets your domain "+
				"enter "+r.SELinux.Type+" (container-selinux allows it for unconfined users); if runc reports a permission "+
				"error setting the label, that is why")
		}
	case r.SELinux.Mode == profile.SELinuxAuto:
		p.Notices = append(p.Notices, "SELinux is not enabled on this host: the container gets no SELinux labels")
	}

	// capabilities: the program keeps them across execve only as uid 0,
	// since safe-run never grants ambient or inheritable capabilities (a
	// non-root program would silently hold none, and the init's check
	// would refuse the run anyway).
	if len(r.Capabilities) > 0 && uid != 0 {
		return nil, fmt.Errorf("profile %q: capabilities.add (%s) needs the program to run as uid 0 inside "+
			"(user: \"0:0\" or -u 0; still without any other capability): safe-run never grants ambient capabilities, "+
			"so a program running as uid %d would hold none", r.Name, strings.Join(r.Capabilities, ", "), uid)
	}
	capList := r.Capabilities
	if req.DropControl == "caps" {
		capList = append(append([]string(nil), capList...), "CAP_CHOWN")
	}
	opts = append(opts, spec.WithCapabilities(capList))
	checks = append(checks, fmt.Sprintf("caps=%#x", caps.Mask(r.Capabilities)))
	if !r.Unsafe.DisableNoNewPrivileges {
		checks = append(checks, "nnp=1")
	}
	opts = append(opts, spec.WithNoNewPrivileges(!r.Unsafe.DisableNoNewPrivileges && req.DropControl != "nnp"))

	// seccomp
	switch {
	case r.Unsafe.DisableSeccomp:
		opts = append(opts, spec.WithSeccomp(nil))
	default:
		checks = append(checks, "seccomp=2")
		filter := seccomp.Build(SeccompPolicy(r, req))
		if req.DropControl == "seccomp" {
			filter = nil
		}
		opts = append(opts, spec.WithSeccomp(filter))
	}

	// cgroups and resources
	limitOpts, limitChecks, err := p.limits(r, f, req)
	if err != nil {
		return nil, err
	}
	opts = append(opts, limitOpts...)
	checks = append(checks, limitChecks...)

	// rlimits
	rl, err := rlimits(r, f)
	if err != nil {
		return nil, err
	}
	opts = append(opts, spec.WithRlimits(rl...))

	// process
	args := req.Args
	if len(args) == 0 {
		args = r.Command
	}
	opts = append(opts,
		spec.WithHostname(r.Hostname),
		spec.WithTerminal(req.Terminal),
		spec.WithProcess(args, environment(r, req.CallerEnv), r.Workdir),
		spec.WithInit(f.InitPath, checkArgs(checks)...),
	)
	s, err := spec.Generate(spec.Default(), opts...)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", r.Name, err)
	}
	p.Spec = s
	return p, nil
}

// SeccompPolicy turns the profile's seccomp settings (and the request's
// agent mode) into a filter policy.
func SeccompPolicy(r *profile.Resolved, req Request) seccomp.Policy {
	sc := r.Seccomp
	p := seccomp.Policy{Allow: sc.Allow, DenyErrno: sc.DenyErrno, DefaultErrno: sc.DefaultErrno,
		Arches: []specs.Arch{seccomp.NativeArch()}, Mode: req.SeccompMode, ListenerPath: req.ListenerPath,
		Conditions: sc.Conditions}
	for _, a := range sc.Architectures {
		p.Arches = append(p.Arches, seccomp.ArchNames[a])
	}
	for _, n := range sc.Namespaces {
		p.Namespaces |= seccomp.NamespaceFlags[n]
	}
	if sc.SocketFamilies != nil {
		p.Families = []uint64{}
		for _, f := range sc.SocketFamilies {
			p.Families = append(p.Families, seccomp.SocketFamilies[f])
		}
	}
	return p
}

// LabelsWanted reports whether the container gets SELinux labels: with
// mode auto when the host has SELinux enabled (runc refuses labels on a
// host without), always with mode required (an error on such a host),
// never with mode off.
func LabelsWanted(r *profile.Resolved, f *host.Facts) (bool, error) {
	switch r.SELinux.Mode {
	case profile.SELinuxOff:
		return false, nil
	case profile.SELinuxRequired:
		if !f.SELinuxEnabled {
			return false, fmt.Errorf("profile %q: selinux.mode is \"required\" but SELinux is not enabled on this host "+
				"(safe-run check shows it): run on an SELinux host, or use selinux.mode: auto", r.Name)
		}
	}
	return f.SELinuxEnabled, nil
}

// LabelOptions are the go-selinux label options for the profile.
func LabelOptions(r *profile.Resolved) []string {
	opts := []string{"type:" + r.SELinux.Type}
	if r.SELinux.Level != profile.LevelAuto {
		opts = append(opts, "level:"+r.SELinux.Level)
	}
	return opts
}

// identity picks the uid/gid inside the container.
func (p *Plan) identity(r *profile.Resolved, f *host.Facts) (uint32, uint32, error) {
	if r.User.Invoking {
		if f.Rootless {
			return 0, 0, nil // the namespace's root is the caller outside
		}
		if f.UID == 0 {
			p.Notices = append(p.Notices, "user: invoking resolves to uid 0 because safe-run runs as root (still with no capabilities)")
		}
		return f.UID, f.GID, nil
	}
	uid, gid := r.User.UID, r.User.GID
	if !f.Rootless {
		return uid, gid, nil
	}
	uidMaps, gidMaps := idMaps(f)
	if mapped(uidMaps, uid) && mapped(gidMaps, gid) {
		return uid, gid, nil
	}
	p.Notices = append(p.Notices, fmt.Sprintf(
		"user %d:%d is not mapped (no subordinate ids for %s in /etc/subuid and /etc/subgid, or newuidmap missing): "+
			"running as the user namespace's root, which is your own uid outside, with no capabilities", uid, gid, f.UserName))
	return 0, 0, nil
}

// idMaps maps the container's root to the caller and, when the caller has
// subordinate ids and newuidmap, ids 1..N to them.
func idMaps(f *host.Facts) (uids, gids []specs.LinuxIDMapping) {
	uids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: f.UID, Size: 1}}
	gids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: f.GID, Size: 1}}
	if f.HaveIDMaps && len(f.SubUIDs) > 0 && len(f.SubGIDs) > 0 {
		uids = append(uids, specs.LinuxIDMapping{ContainerID: 1, HostID: f.SubUIDs[0].Start, Size: f.SubUIDs[0].Count})
		gids = append(gids, specs.LinuxIDMapping{ContainerID: 1, HostID: f.SubGIDs[0].Start, Size: f.SubGIDs[0].Count})
	}
	return uids, gids
}

func mapped(m []specs.LinuxIDMapping, id uint32) bool {
	for _, r := range m {
		if id >= r.ContainerID && id-r.ContainerID < r.Size {
			return true
		}
	}
	return false
}

// limits returns the cgroup options and the init checks for the limits
// that will be in force, warning about (or refusing) those that cannot be.
func (p *Plan) limits(r *profile.Resolved, f *host.Facts, req Request) ([]spec.Opt, []string, error) {
	type limit struct {
		ctl, field, value string
		set               bool
	}
	wanted := []limit{
		{"memory", "resources.memory", profile.Size(r.Memory).String(), r.Memory > 0},
		{"cpu", "resources.cpus", fmt.Sprint(r.CPUs), r.CPUs > 0},
		{"pids", "resources.pids", fmt.Sprint(r.Pids), r.Pids > 0},
	}
	memory, cpus, pids := r.Memory, r.CPUs, r.Pids
	for _, l := range wanted {
		if !l.set || f.Cgroup.Usable[l.ctl] {
			continue
		}
		msg := fmt.Sprintf("%s %s is NOT in force: %s", l.field, l.value, f.Cgroup.Why)
		if r.LimitsRequired {
			return nil, nil, fmt.Errorf("profile %q requires its limits (resources.required: true) but %s", r.Name, msg)
		}
		p.Warnings = append(p.Warnings, msg)
		switch l.ctl {
		case "memory":
			memory = 0
		case "cpu":
			cpus = 0
		case "pids":
			pids = 0
		}
	}
	if f.Rootless && !f.Cgroup.Systemd {
		// Rootless runc on a host without delegation must not be given
		// a cgroup path or limits: it would fail to create them.
		return nil, nil, nil
	}
	var opts []spec.Opt
	if f.Cgroup.Systemd {
		p.SystemdCgroup = true
		opts = append(opts, spec.WithCgroupsPath("user.slice:safe-run:"+req.ID))
	} else {
		opts = append(opts, spec.WithCgroupsPath(cgroupParent+"/"+req.ID))
	}
	var checks []string
	if memory > 0 {
		checks = append(checks, fmt.Sprintf("memory=%d", memory))
	}
	if cpus > 0 {
		checks = append(checks, fmt.Sprintf("cpu=%d/%d", int64(cpus*100000), 100000))
	}
	if pids > 0 {
		checks = append(checks, fmt.Sprintf("pids=%d", pids))
		if req.DropControl == "pids" {
			pids = 0
		}
	}
	opts = append(opts, spec.WithResources(memory, cpus, pids))
	if len(checks) > 0 {
		opts = append(opts, spec.WithCgroupMount())
	}
	return opts, checks, nil
}

func rlimits(r *profile.Resolved, f *host.Facts) ([]spec.Rlimit, error) {
	names := make([]string, 0, len(r.Rlimits))
	for n := range r.Rlimits {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []spec.Rlimit
	for _, n := range names {
		l := r.Rlimits[n]
		if hard, ok := f.HardLimits[n]; ok && l.Hard > hard {
			return nil, fmt.Errorf("profile %q: rlimits.%s: hard limit %d is above this host's current hard limit %d; "+
				"raising it needs CAP_SYS_RESOURCE, so use at most %d", r.Name, n, l.Hard, hard, hard)
		}
		out = append(out, spec.Rlimit{Name: n, Soft: l.Soft, Hard: l.Hard})
	}
	return out, nil
}

// environment is the profile's env.set plus the env.pass variables the
// caller has.
func environment(r *profile.Resolved, callerEnv []string) []string {
	env := map[string]string{}
	for _, kv := range callerEnv {
		k, v, _ := strings.Cut(kv, "=")
		for _, pass := range r.EnvPass {
			if k == pass {
				env[k] = v
			}
		}
	}
	for k, v := range r.EnvSet {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// BindSource expands "~/" and "./" bind sources.
func BindSource(src string, f *host.Facts) string {
	switch {
	case strings.HasPrefix(src, "~/"):
		return filepath.Join(f.Home, src[2:])
	case src == ".":
		return f.Cwd
	case strings.HasPrefix(src, "./"):
		return filepath.Join(f.Cwd, src[2:])
	}
	return src
}

// BindSources lists the host paths of a profile's binds, for the caller
// to probe (Request.BindSources).
func BindSources(r *profile.Resolved, f *host.Facts) []string {
	var out []string
	for _, b := range r.Binds {
		out = append(out, BindSource(b.Source, f))
	}
	return out
}

func checkArgs(checks []string) []string {
	out := make([]string, 0, 2*len(checks))
	for _, c := range checks {
		out = append(out, "--check", c)
	}
	return out
}
