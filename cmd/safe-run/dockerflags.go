package main

import (
	"fmt"
	"os"
	"path"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/caps"
	"github.com/safe-run/safe-run/internal/dockercli"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

// The flags of `docker run` that safe-run's run takes too, so that a script
// written for docker runs under safe-run with strict defaults. Each is an
// override laid over the profile and allowed only within what the profile
// permits: a flag that would weaken a control the profile keeps is refused
// (exit 125) with a message naming the flag and the safe alternative.
// docs/docker-compat.md lists every docker run flag and what safe-run does
// with it.

const dockerCategory = "Docker compatibility"

// dockerRunFlags are the docker run flags safe-run implements; they are
// part of runFlags (run, spec and record take them).
var dockerRunFlags = append([]cli.Flag{
	&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind host `SRC:DST[:OPTS]` (read-only unless :rw; :z/:Z relabel)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "mount", Usage: "`type=bind|tmpfs,source=...,target=...` (bind: read-only unless readonly=false)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "tmpfs", Usage: "private tmpfs at `PATH[:size=64m,mode=1777,exec]` (nosuid,nodev; noexec unless exec)", Category: dockerCategory},
	&cli.BoolFlag{Name: "read-only", Usage: "read-only root filesystem (always on; =false needs unsafe.disable-readonly-root)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "env-file", Usage: "read NAME=VALUE lines from `FILE` (-e wins)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "cap-add", Usage: "add capability `CAP` (root-equivalent ones only if the profile adds them)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop capability `CAP` (or ALL) from the profile's", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "security-opt", Usage: "`OPT`: no-new-privileges, seccomp=FILE (replaces the allowlist), label=type:T|level:L", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "ulimit", Usage: "rlimit `NAME=SOFT[:HARD]`, e.g. nofile=1024:2048", Category: dockerCategory},
	&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Usage: "`none` (default: loopback only), private (own network through pasta) or host (needs unsafe.disable-network-isolation)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish `[IP:]HOSTPORT:PORT[/PROTO]` (--network private; IP defaults to 127.0.0.1)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "dns", Usage: "name server `IP` for /etc/resolv.conf (--network private; default: pasta's forwarder to the host's)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "dns-search", Usage: "DNS search `DOMAIN` (--network private)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "dns-option", Aliases: []string{"dns-opt"}, Usage: "resolv.conf `OPTION` (--network private)", Category: dockerCategory},
	&cli.StringSliceFlag{Name: "add-host", Usage: "/etc/hosts entry `NAME:IP`", Category: dockerCategory},
	&cli.StringFlag{Name: "memory-swap", Usage: "equal to --memory (swap always counts with memory)", Category: dockerCategory},
	&cli.StringFlag{Name: "stop-timeout", Usage: "`SECONDS` the program has to exit after a forwarded SIGTERM/SIGINT (default 10)", Category: dockerCategory},
	&cli.StringFlag{Name: "platform", Usage: "only this machine's platform (" + nativePlatform + ")", Category: dockerCategory},
	&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the container in the background and print its id (docs/detach.md)", Category: dockerCategory},
	&cli.BoolFlag{Name: "rm", Usage: "remove the container at exit (always done in the foreground; with -d only with --rm)", Category: dockerCategory},
	&cli.BoolFlag{Name: "init", Usage: "run an init as PID 1 (always done: safe-run-init)", Category: dockerCategory},
}, compatCLIFlags()...)

const nativePlatform = "linux/" + goruntime.GOARCH

// flagValues is what the docker flags are read from: *cli.Context, or a
// map in tests.
type flagValues interface {
	IsSet(name string) bool
	String(name string) string
	StringSlice(name string) []string
	Bool(name string) bool
}

// dockerEnv is what the translation needs from outside the flags.
type dockerEnv struct {
	// base is the profile the flags are laid over (with run's other
	// flags), or nil when no given flag depends on it.
	base     *profile.Resolved
	readFile func(string) ([]byte, error)
	lookup   func(string) (string, bool)
}

// dockerMessages are the warnings and notices the flags produce.
type dockerMessages struct {
	warnings, notices []string
}

// dockerNeedsProfile reports whether a given flag is allowed or refused
// depending on the profile, which is then loaded first.
func dockerNeedsProfile(f flagValues) bool {
	for _, n := range []string{"cap-add", "cap-drop", "security-opt", "network", "read-only", "publish", "dns", "dns-search", "dns-option", "add-host"} {
		if f.IsSet(n) {
			return true
		}
	}
	return false
}

// refuse is a refusal of a docker flag: exit 125, naming the flag.
func refuse(flag, format string, args ...any) error {
	return runtime.ToolError("%s: %s", flag, fmt.Sprintf(format, args...))
}

// applyDockerFlags lays the docker run flags over o. It is pure apart
// from env.readFile (--env-file, --security-opt seccomp=FILE).
func applyDockerFlags(o *profile.File, f flagValues, env dockerEnv) (*dockerMessages, error) {
	m := &dockerMessages{}
	base := env.base
	if base == nil {
		base = &profile.Resolved{Name: "?"}
	}
	if err := compatFlags(f, m); err != nil {
		return nil, err
	}
	if err := dockerEnvFiles(o, f, env); err != nil {
		return nil, err
	}
	if err := dockerMounts(o, f, m); err != nil {
		return nil, err
	}
	if f.IsSet("read-only") {
		if f.Bool("read-only") {
			setUnsafe(o, func(u *profile.Unsafe) { u.DisableReadonlyRoot = boolPtr(false) }, "--read-only")
		} else if !base.Unsafe.DisableReadonlyRoot {
			return nil, refuse("--read-only=false", "refused: the root filesystem is read-only in safe-run; write to a --tmpfs or a -v volume (only a profile with unsafe.disable-readonly-root: true has a writable root)")
		}
	}
	held, err := dockerCaps(o, f, base, m)
	if err != nil {
		return nil, err
	}
	if err := dockerSecurityOpts(o, f, base, held, env, m); err != nil {
		return nil, err
	}
	if err := dockerNetwork(o, f, base); err != nil {
		return nil, err
	}
	if err := dockerNeedsPrivate(o, f, base); err != nil {
		return nil, err
	}
	if err := dockerLimits(o, f); err != nil {
		return nil, err
	}
	if f.IsSet("stop-timeout") {
		if _, err := parseStopTimeout(f.String("stop-timeout")); err != nil {
			return nil, err
		}
	}
	if p := f.String("platform"); f.IsSet("platform") && !nativePlatformValue(p) {
		return nil, refuse("--platform", "%q refused: safe-run runs only images for this machine (%s); it does not emulate other platforms", p, nativePlatform)
	}
	return m, nil
}

func boolPtr(b bool) *bool { return &b }

func setUnsafe(o *profile.File, set func(*profile.Unsafe), flag string) {
	if o.Unsafe == nil {
		o.Unsafe = &profile.Unsafe{}
	}
	set(o.Unsafe)
	o.SetOrigin("unsafe", flag)
}

// dockerEnvFiles reads --env-file files in order (a later file wins); -e,
// already in o, wins over all of them, as in docker.
func dockerEnvFiles(o *profile.File, f flagValues, env dockerEnv) error {
	files := f.StringSlice("env-file")
	if len(files) == 0 {
		return nil
	}
	if o.Env == nil {
		o.Env = &profile.Env{Set: map[string]string{}}
	}
	fromFlag := map[string]bool{}
	for k := range o.Env.Set {
		fromFlag[k] = true
	}
	for _, name := range files {
		data, err := env.readFile(name)
		if err != nil {
			return refuse("--env-file", "%v", err)
		}
		kvs, err := dockercli.ParseEnvFile(name, string(data), env.lookup)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		for _, kv := range kvs {
			k, v, _ := strings.Cut(kv, "=")
			if !fromFlag[k] {
				o.Env.Set[k] = v
				o.SetOrigin("env.set."+k, "--env-file "+name)
			}
		}
	}
	return nil
}

// reservedTarget refuses mount targets in the trees safe-run sets up
// itself.
func reservedTarget(flag, target string) error {
	for _, dir := range []string{"/proc", "/sys", "/dev"} {
		if target == dir || strings.HasPrefix(target, dir+"/") {
			extra := ""
			if target == "/dev/shm" {
				extra = " (/dev/shm is always a private 64m tmpfs; --shm-size is not supported yet)"
			}
			return refuse(flag, "%s is refused: safe-run sets up /proc, /sys and /dev itself%s; mount somewhere else", target, extra)
		}
	}
	return nil
}

const namedVolumeMsg = "named volumes are not supported yet; bind a host directory: -v /abs/path:%s"

// dockerMounts turns -v, --mount and --tmpfs into binds and tmpfs mounts.
func dockerMounts(o *profile.File, f flagValues, m *dockerMessages) error {
	addBind := func(flag string, b profile.Bind) error {
		b.Target = path.Clean(b.Target)
		if err := reservedTarget(flag, b.Target); err != nil {
			return err
		}
		o.SetOrigin(fmt.Sprintf("binds[%d]", len(o.Binds)), flag)
		o.Binds = append(o.Binds, b)
		return nil
	}
	addTmpfs := func(flag string, target string, size int64, mode uint32, exec bool) error {
		target = path.Clean(target)
		if err := reservedTarget(flag, target); err != nil {
			return err
		}
		t := profile.Tmpfs{Path: target, Size: profile.Size(size), Exec: exec}
		if mode != 0 {
			md := profile.Mode(mode)
			t.Mode = &md
		}
		o.SetOrigin(fmt.Sprintf("tmpfs[%d]", len(o.Tmpfs)), flag)
		o.Tmpfs = append(o.Tmpfs, t)
		return nil
	}
	for _, v := range f.StringSlice("volume") {
		vol, err := dockercli.ParseVolume(v)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		if vol.Name != "" {
			return refuse("-v", "%q: "+namedVolumeMsg, v, vol.Target)
		}
		writable := !vol.ReadOnly && volumeSaysRW(v)
		if !vol.ReadOnly && !writable {
			m.notices = append(m.notices, fmt.Sprintf("-v %s: read-only (safe-run's default); add :rw to write to it", v))
		}
		if err := addBind("-v", profile.Bind{Source: vol.Source, Target: vol.Target, Writable: writable, Relabel: vol.Relabel}); err != nil {
			return err
		}
	}
	for _, v := range f.StringSlice("mount") {
		mt, err := dockercli.ParseMount(v)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		switch mt.Type {
		case "volume":
			return refuse("--mount", "%q: "+namedVolumeMsg, v, mt.Target)
		case "tmpfs":
			err = addTmpfs("--mount", mt.Target, mt.TmpfsSize, mt.TmpfsMode, false)
		case "bind":
			writable := !mt.ReadOnly && mountSaysRW(v)
			if !mt.ReadOnly && !writable {
				m.notices = append(m.notices, fmt.Sprintf("--mount %s: read-only (safe-run's default); add readonly=false to write to it", v))
			}
			err = addBind("--mount", profile.Bind{Source: mt.Source, Target: mt.Target, Writable: writable})
		}
		if err != nil {
			return err
		}
	}
	for _, v := range f.StringSlice("tmpfs") {
		t, err := dockercli.ParseTmpfs(v)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		if err := addTmpfs("--tmpfs", t.Target, t.Size, t.Mode, t.Exec); err != nil {
			return err
		}
	}
	return nil
}

// volumeSaysRW reports whether a (valid) -v value asks for rw explicitly.
func volumeSaysRW(v string) bool {
	parts := strings.Split(v, ":")
	return len(parts) == 3 && slices.Contains(strings.Split(parts[2], ","), "rw")
}

// mountSaysRW reports whether a (valid) --mount value says readonly=false.
func mountSaysRW(v string) bool {
	for _, field := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if (key == "readonly" || key == "ro") && hasVal {
			if b, err := strconv.ParseBool(val); err == nil && !b {
				return true
			}
		}
	}
	return false
}

// rootEquivalent are the capabilities --cap-add refuses unless the profile
// already grants them: each either is root-equivalent (escapes the
// container or controls the kernel) or acts on host-wide state that no
// namespace confines. docs/docker-compat.md gives the same list.
var rootEquivalent = map[string]string{
	"CAP_SYS_ADMIN":       "mount, namespaces, and much of the kernel's administration: root-equivalent",
	"CAP_SYS_MODULE":      "loads kernel modules: arbitrary code in the kernel",
	"CAP_SYS_RAWIO":       "raw I/O ports and memory: direct hardware and kernel memory access",
	"CAP_SYS_PTRACE":      "traces any process of the container, reads and writes its memory, and weakens seccomp on old kernels",
	"CAP_DAC_READ_SEARCH": "open_by_handle_at reads any host file by handle (the \"shocker\" escape)",
	"CAP_SYS_BOOT":        "reboot and kexec_load",
	"CAP_SYS_TIME":        "sets the host's clock (time is not namespaced)",
	"CAP_MAC_ADMIN":       "changes the host's MAC (SELinux/AppArmor) policy",
	"CAP_MAC_OVERRIDE":    "overrides the host's MAC policy",
	"CAP_BPF":             "loads BPF programs into the kernel",
	"CAP_PERFMON":         "perf events: kernel memory and addresses, a large attack surface",
	"CAP_NET_ADMIN":       "network configuration and netfilter: a large kernel attack surface, and the host's network with --network host",
	"CAP_SETFCAP":         "writes file capabilities, which give privileges to whoever runs the file later on the host",
	"CAP_SYSLOG":          "reads kernel addresses and the kernel log (defeats KASLR)",
	"CAP_AUDIT_CONTROL":   "changes the host's audit rules (audit is not namespaced)",
}

// dockerCaps applies --cap-add and --cap-drop, returning the capabilities
// the container will hold.
func dockerCaps(o *profile.File, f flagValues, base *profile.Resolved, m *dockerMessages) ([]string, error) {
	held := append([]string(nil), base.Capabilities...)
	adds, drops := f.StringSlice("cap-add"), f.StringSlice("cap-drop")
	if len(adds) == 0 && len(drops) == 0 {
		return held, nil
	}
	ar := &profile.AddRemove{}
	for _, d := range drops {
		if isAll(d) {
			ar.Remove = append(ar.Remove, base.Capabilities...)
			held = nil
			continue
		}
		canon, err := caps.Canonical(d)
		if err != nil {
			return nil, refuse("--cap-drop", "%v", err)
		}
		ar.Remove = append(ar.Remove, canon)
		held = slices.DeleteFunc(held, func(c string) bool { return c == canon })
	}
	for _, a := range adds {
		if isAll(a) {
			return nil, refuse("--cap-add ALL", "refused: safe-run never grants every capability; add the single capability the program needs, e.g. --cap-add NET_BIND_SERVICE")
		}
		canon, err := caps.Canonical(a)
		if err != nil {
			return nil, refuse("--cap-add", "%v", err)
		}
		if why, bad := rootEquivalent[canon]; bad && !slices.Contains(base.Capabilities, canon) {
			return nil, refuse("--cap-add "+a, "refused: %s %s; profile %q does not grant it, and safe-run does not add it from the command line: "+
				"find the narrower capability the program needs (safe-run run --explain shows what it is refused), or use a profile that adds it (capabilities.add)",
				canon, why, base.Name)
		}
		o.SetOrigin(fmt.Sprintf("capabilities.add[%d]", len(ar.Add)), "--cap-add")
		ar.Add = append(ar.Add, canon)
		if !slices.Contains(held, canon) {
			held = append(held, canon)
		}
		m.warnings = append(m.warnings, fmt.Sprintf("--cap-add %s: the container holds %s", a, canon))
	}
	o.Capabilities = ar
	slices.Sort(held)
	return held, nil
}

func isAll(c string) bool {
	u := strings.ToUpper(strings.TrimSpace(c))
	return u == "ALL" || u == "CAP_ALL"
}

// dockerSecurityOpts applies --security-opt.
func dockerSecurityOpts(o *profile.File, f flagValues, base *profile.Resolved, held []string, env dockerEnv, m *dockerMessages) error {
	values := f.StringSlice("security-opt")
	if len(values) == 0 {
		return nil
	}
	var so dockercli.SecurityOpt
	for _, v := range values {
		if err := so.ApplySecurityOpt(v); err != nil {
			return runtime.ToolError("%v", err)
		}
	}
	const flag = "--security-opt"
	if nnp := so.NoNewPrivileges; nnp != nil {
		switch {
		case *nnp:
			setUnsafe(o, func(u *profile.Unsafe) { u.DisableNoNewPrivileges = boolPtr(false) }, flag)
		case !base.Unsafe.DisableNoNewPrivileges:
			return refuse(flag+" no-new-privileges=false", "refused: no_new_privs is always on in safe-run (setuid binaries would regain their power); "+
				"run the program as the user it needs with -u instead (only a profile with unsafe.disable-no-new-privileges: true turns it off)")
		}
	}
	switch sp := so.SeccompProfile; {
	case sp == "":
	case sp == "unconfined":
		if !base.Unsafe.DisableSeccomp {
			return refuse(flag+" seccomp=unconfined", "refused: the syscall filter is always on in safe-run; "+
				"find what the program is refused with safe-run run --explain and allow it in a profile (safe-run record writes one), "+
				"or give a Docker seccomp profile with --security-opt seccomp=FILE")
		}
	default:
		if base.Unsafe.DisableSeccomp {
			return refuse(flag+" seccomp="+sp, "profile %q has no syscall filter (unsafe.disable-seccomp): there is nothing for %s to replace; use a profile with a filter", base.Name, sp)
		}
		data, err := env.readFile(sp)
		if err != nil {
			return refuse(flag+" seccomp="+sp, "%v", err)
		}
		imp, err := seccomp.ImportDocker(data, seccomp.NativeArch(), held)
		if err != nil {
			return refuse(flag+" seccomp="+sp, "%v", err)
		}
		origin := flag + " seccomp=" + sp
		// Docker's semantic: the file replaces the default profile. Deny
		// every name the profile allows and allow the file's (a file's
		// own allow wins over its own deny), and drop the profile's
		// conditional allows; namespaces and socket families keep the
		// profile's argument rules.
		o.Seccomp = &profile.Seccomp{Deny: base.Seccomp.Allow, Allow: imp.Allow, AllowIf: []profile.ArgCondition{}}
		o.SetOrigin("seccomp", origin)
		for i := range imp.Allow {
			o.SetOrigin(fmt.Sprintf("seccomp.allow[%d]", i), origin)
		}
		msg := fmt.Sprintf("%s: the syscall allowlist is the %d syscalls %s allows, replacing profile %q's (safe-run's argument rules on clone, unshare, setns, socket, ioctl and personality still apply)",
			origin, len(imp.Allow), sp, base.Name)
		if n := len(imp.Conditional) - conditionalImported(imp); n > 0 {
			msg += fmt.Sprintf("; %d syscalls it allows only under argument conditions are refused", n)
		}
		m.warnings = append(m.warnings, msg)
	}
	if so.LabelDisable && !base.Unsafe.DisableSELinux {
		return refuse(flag+" label=disable", "refused: SELinux labels keep containers apart; use label=type:TYPE or label=level:LEVEL to choose them "+
			"(only a profile with unsafe.disable-selinux: true runs without)")
	}
	if so.LabelType != "" || so.LabelLevel != "" {
		o.SELinux = &profile.SELinux{}
		if so.LabelType != "" {
			o.SELinux.Type = &so.LabelType
			o.SetOrigin("selinux.type", flag)
		}
		if so.LabelLevel != "" {
			o.SELinux.Level = &so.LabelLevel
			o.SetOrigin("selinux.level", flag)
		}
	}
	return nil
}

// conditionalImported counts the conditional names that were imported
// anyway (those with safe-run's own argument rule).
func conditionalImported(imp *seccomp.Imported) int {
	n := 0
	for name := range imp.Conditional {
		if slices.Contains(imp.Allow, name) {
			n++
		}
	}
	return n
}

// dockerNetwork applies --network.
func dockerNetwork(o *profile.File, f flagValues, base *profile.Resolved) error {
	if !f.IsSet("network") {
		return nil
	}
	v := f.String("network")
	const flag = "--network"
	switch {
	case v == "none" || v == "":
		n := profile.NetworkNone
		o.Network = &n
		o.SetOrigin("network", flag)
		setUnsafe(o, func(u *profile.Unsafe) { u.DisableNetworkIsolation = boolPtr(false) }, flag)
	case v == profile.NetworkPrivate:
		n := profile.NetworkPrivate
		o.Network = &n
		o.SetOrigin("network", flag)
		// A host-network profile (unsafe.disable-network-isolation) gets
		// its own namespace back, as with --network none.
		setUnsafe(o, func(u *profile.Unsafe) { u.DisableNetworkIsolation = boolPtr(false) }, flag)
	case v == "bridge" || v == "default":
		return refuse(flag+" "+v, "not supported yet: safe-run has no bridge; its equivalent of docker's default network is "+
			"--network private (the container's own network namespace, connected through pasta)")
	case v == "host":
		if !base.Unsafe.DisableNetworkIsolation {
			return refuse(flag+" host", "refused: profile %q keeps the container off the host's network (it has only loopback); "+
				"sharing the host's network namespace needs a profile with unsafe.disable-network-isolation: true", base.Name)
		}
		n := profile.NetworkHost
		o.Network = &n
		o.SetOrigin("network", flag)
	case strings.HasPrefix(v, "container:"):
		return refuse(flag+" "+v, "refused: joining another container's network namespace is not possible in safe-run; use --network none (the default)")
	default:
		return refuse(flag+" "+v, "not supported yet: safe-run has no named container networks; "+
			"use --network none (the default, loopback only) or --network private (the container's own network through pasta)")
	}
	return nil
}

// dockerNeedsPrivate refuses the flags that only mean something with a
// private network (the plan checks the same for profiles), naming the
// flag as given and the fix.
func dockerNeedsPrivate(o *profile.File, f flagValues, base *profile.Resolved) error {
	if _, err := dockerNetworkRequest(f, &dockerMessages{}); err != nil {
		return err // a malformed value is reported as such first
	}
	network := base.Network
	if o.Network != nil {
		network = *o.Network
	}
	if network == profile.NetworkPrivate {
		return nil
	}
	why := fmt.Sprintf("the container's network is %q", network)
	switch network {
	case profile.NetworkNone:
		why += " (loopback only)"
	case profile.NetworkHost:
		why += " (the host's own: its ports are the host's already)"
	}
	fix := "add --network private (the container's own network through pasta)"
	for _, c := range []struct{ name, shown string }{
		{"publish", "-p/--publish"}, {"dns", "--dns"}, {"dns-search", "--dns-search"}, {"dns-option", "--dns-option"},
	} {
		if v := f.StringSlice(c.name); len(v) > 0 {
			return refuse(c.shown+" "+v[0], "not supported yet without a private network: %s; %s", why, fix)
		}
	}
	return nil
}

// dockerLimits applies --ulimit and --memory-swap.
func dockerLimits(o *profile.File, f flagValues) error {
	for _, v := range f.StringSlice("ulimit") {
		u, err := dockercli.ParseUlimit(v)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		if o.Rlimits == nil {
			o.Rlimits = map[string]profile.Rlimit{}
		}
		o.Rlimits[u.Name] = profile.Rlimit{Soft: u.Soft, Hard: u.Hard}
		o.SetOrigin("rlimits."+u.Name, "--ulimit")
	}
	if !f.IsSet("memory-swap") {
		return nil
	}
	const flag = "--memory-swap"
	v := strings.TrimSpace(f.String("memory-swap"))
	switch v {
	case "0":
		return nil // docker: unset
	case "-1":
		return refuse(flag+" -1", "refused: unlimited swap would let the container use the host's swap without limit; safe-run limits memory and swap together with --memory")
	}
	swap, err := dockercli.ParseBytes(v)
	if err != nil {
		return refuse(flag, "%v", err)
	}
	if !f.IsSet("memory") {
		return refuse(flag, "give --memory too (as in docker); safe-run counts swap with memory, so write --memory %s alone", v)
	}
	var mem *profile.Size
	if err := profile.ParseOverride(f.String("memory"), &mem); err != nil || mem == nil {
		return nil // --memory reports its own error
	}
	if int64(*mem) != swap {
		return refuse(flag+" "+v, "safe-run counts swap with memory: --memory %s limits memory and swap together, so --memory-swap can only equal it (drop --memory-swap, or raise --memory)", f.String("memory"))
	}
	return nil
}

// parseStopTimeout parses --stop-timeout SECONDS (0: kill at once).
func parseStopTimeout(v string) (time.Duration, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		return 0, refuse("--stop-timeout", "%q is not a number of seconds", v)
	case n < 0:
		return 0, refuse("--stop-timeout", "%d refused: safe-run always kills a program that ignores a forwarded stop signal; give a number of seconds", n)
	case n == 0:
		return time.Millisecond, nil
	}
	return time.Duration(n) * time.Second, nil
}

// stopTimeout is --stop-timeout for the runner (0: its default); the value
// was checked by overridesFromFlags.
func stopTimeout(c *cli.Context) time.Duration {
	if !c.IsSet("stop-timeout") {
		return 0
	}
	d, _ := parseStopTimeout(c.String("stop-timeout"))
	return d
}

func nativePlatformValue(p string) bool {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(p)), "/")
	return len(parts) >= 2 && len(parts) <= 3 && parts[0] == "linux" && parts[1] == goruntime.GOARCH
}

// compatStatus is what safe-run does with a docker flag it does not
// implement.
type compatStatus int

const (
	compatRefused compatStatus = iota // exit 125: weakens a control
	compatNotYet                      // exit 125: not implemented yet
	compatIgnored                     // a warning
)

// compatFlag is a docker run flag that safe-run accepts only with docker's
// default value (ok), and otherwise refuses or ignores.
type compatFlag struct {
	name    string
	aliases []string
	kind    byte // 's' string, 'l' list, 'b' bool
	status  compatStatus
	// ok reports values that ask for what safe-run does anyway (docker's
	// default); nil: none, except false for a bool.
	ok func(string) bool
	// check parses a value first, so that a malformed one is reported as
	// such.
	check func(string) error
	why   string
}

func oneOf(values ...string) func(string) bool {
	return func(v string) bool { return slices.Contains(values, v) }
}

func always(string) bool { return true }

const (
	whyNetwork = "safe-run has no container networks with addresses or aliases: a container has only loopback (--network none) or its own network through pasta (--network private, with -p to publish ports)"
	whyDevices = "devices are denied: the container gets only the standard /dev nodes (null, zero, full, random, urandom, tty), and no profile has a device allowlist yet"
	whyBlkio   = "block I/O limits are not supported yet (memory, CPU and process limits are: --memory, --cpus, --pids-limit)"
)

// compatTable lists the docker run flags safe-run takes only to refuse or
// ignore them (unless given docker's default).
var compatTable = []compatFlag{
	{name: "privileged", kind: 'b', status: compatRefused, why: "safe-run never runs privileged containers; add the single capability the program needs with --cap-add"},
	{name: "pid", kind: 's', status: compatRefused, ok: oneOf("", "private"), why: "the container always has its own pid namespace (it cannot see or signal the host's processes)"},
	{name: "ipc", kind: 's', status: compatRefused, ok: oneOf("", "private", "none", "shareable"), why: "the container always has its own IPC namespace"},
	{name: "uts", kind: 's', status: compatRefused, ok: oneOf("", "private"), why: "the container always has its own UTS namespace; set its name with --hostname"},
	{name: "userns", kind: 's', status: compatRefused, ok: oneOf(""), why: "safe-run chooses the user namespace itself (rootless: always one)"},
	{name: "cgroupns", kind: 's', status: compatRefused, ok: oneOf("", "private"), why: "the container always has its own cgroup namespace"},
	{name: "cgroup-parent", kind: 's', status: compatRefused, why: "containers always live in safe-run's own cgroup (/safe-run/ID), so cleanup does not depend on the caller"},
	{name: "device", kind: 'l', status: compatRefused, why: whyDevices},
	{name: "device-cgroup-rule", kind: 'l', status: compatRefused, why: whyDevices},
	{name: "gpus", kind: 's', status: compatRefused, why: whyDevices},
	{name: "sysctl", kind: 'l', status: compatRefused, why: "/proc/sys is read-only in the container and setting sysctls is not supported: the kernel's values apply"},
	{name: "oom-kill-disable", kind: 'b', status: compatRefused, why: "the memory limit is always enforced by the OOM killer (a container that cannot be killed can hang the host)"},
	{name: "cpu-rt-period", kind: 's', status: compatRefused, why: "real-time scheduling is refused (a real-time task can starve the host)"},
	{name: "cpu-rt-runtime", kind: 's', status: compatRefused, why: "real-time scheduling is refused (a real-time task can starve the host)"},
	{name: "storage-opt", kind: 'l', status: compatRefused, why: "the root filesystem is read-only and has no storage driver; use --tmpfs PATH:size=SIZE for writable space"},
	{name: "volumes-from", kind: 'l', status: compatRefused, why: "containers do not share volumes; bind a host directory: -v /abs/path:/target"},
	{name: "volume-driver", kind: 's', status: compatRefused, why: "there are no named volumes; bind a host directory: -v /abs/path:/target"},
	{name: "link", kind: 'l', status: compatRefused, why: "legacy container links need container networks; " + whyNetwork},
	{name: "publish-all", aliases: []string{"P"}, kind: 'b', status: compatNotYet, why: "publish each port with -p [IP:]HOSTPORT:PORT (and --network private)"},
	{name: "ip", kind: 's', status: compatNotYet, why: whyNetwork},
	{name: "ip6", kind: 's', status: compatNotYet, why: whyNetwork},
	{name: "mac-address", kind: 's', status: compatNotYet, why: whyNetwork},
	{name: "network-alias", aliases: []string{"net-alias"}, kind: 'l', status: compatNotYet, why: whyNetwork},
	{name: "link-local-ip", kind: 'l', status: compatNotYet, why: whyNetwork},
	{name: "domainname", kind: 's', status: compatNotYet, why: "only the host name is set (--hostname)"},
	{name: "group-add", kind: 'l', status: compatNotYet, why: "supplementary groups are not supported yet: the program runs with the user and group of -u (or the profile) only"},
	{name: "shm-size", kind: 's', status: compatNotYet, why: "/dev/shm is always a private 64m tmpfs (nosuid,nodev,noexec); use --tmpfs PATH:size=SIZE for more space elsewhere", check: func(v string) error { _, err := dockercli.ParseBytes(v); return err }},
	{name: "cpu-period", kind: 's', status: compatNotYet, why: "write the limit as --cpus (cores)"},
	{name: "cpu-quota", kind: 's', status: compatNotYet, why: "write the limit as --cpus (cores)"},
	{name: "cpuset-cpus", kind: 's', status: compatNotYet, why: "pinning to CPUs is not supported yet; --cpus limits the CPU time"},
	{name: "cpuset-mems", kind: 's', status: compatNotYet, why: "pinning to memory nodes is not supported yet"},
	{name: "blkio-weight", kind: 's', status: compatNotYet, why: whyBlkio},
	{name: "blkio-weight-device", kind: 'l', status: compatNotYet, why: whyBlkio},
	{name: "device-read-bps", kind: 'l', status: compatNotYet, why: whyBlkio},
	{name: "device-write-bps", kind: 'l', status: compatNotYet, why: whyBlkio},
	{name: "device-read-iops", kind: 'l', status: compatNotYet, why: whyBlkio},
	{name: "device-write-iops", kind: 'l', status: compatNotYet, why: whyBlkio},
	{name: "restart", kind: 's', status: compatNotYet, ok: oneOf("", "no"), why: "safe-run has no daemon to restart containers; use a service manager (systemd Restart=)"},
	{name: "cidfile", kind: 's', status: compatNotYet, why: "the container id is --name (or a random safe-run-... id)"},
	{name: "label", aliases: []string{"l"}, kind: 'l', status: compatIgnored, why: "safe-run keeps no container metadata yet"},
	{name: "label-file", kind: 'l', status: compatIgnored, why: "safe-run keeps no container metadata yet"},
	{name: "annotation", kind: 'l', status: compatIgnored, why: "safe-run keeps no container metadata yet"},
	{name: "cpu-shares", aliases: []string{"c"}, kind: 's', status: compatIgnored, why: "CPU time is limited by the --cpus quota (the profile's resources.cpus)"},
	{name: "memory-reservation", kind: 's', status: compatIgnored, why: "only the hard limit (--memory) applies"},
	{name: "memory-swappiness", kind: 's', status: compatIgnored, ok: oneOf("-1"), why: "the kernel's swappiness applies"},
	{name: "kernel-memory", kind: 's', status: compatIgnored, why: "deprecated by docker; kernel memory counts in --memory on cgroup v2"},
	{name: "oom-score-adj", kind: 's', status: compatIgnored, ok: oneOf("0"), why: "the container keeps safe-run's OOM score"},
	{name: "stop-signal", kind: 's', status: compatIgnored, why: "safe-run forwards the signal it receives (SIGTERM, SIGINT, ...) to the program as it is"},
	{name: "log-driver", kind: 's', status: compatIgnored, why: "the program's output goes to safe-run's own stdout and stderr (with -d: to the container's log, safe-run logs)"},
	{name: "log-opt", kind: 'l', status: compatIgnored, why: "the program's output goes to safe-run's own stdout and stderr (with -d: to the container's log, safe-run logs)"},
	{name: "attach", aliases: []string{"a"}, kind: 'l', status: compatIgnored, why: "stdin, stdout and stderr are always attached"},
	{name: "detach-keys", kind: 's', status: compatIgnored, why: "there is no attached terminal to detach from: start the container detached with -d"},
	{name: "sig-proxy", kind: 'b', status: compatIgnored, ok: oneOf("true"), why: "signals are always forwarded to the program"},
	{name: "health-cmd", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "health-interval", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "health-retries", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "health-timeout", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "health-start-period", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "health-start-interval", kind: 's', status: compatIgnored, why: "there is no daemon to run health checks"},
	{name: "no-healthcheck", kind: 'b', status: compatIgnored, ok: always, why: "there are no health checks"},
	{name: "expose", kind: 'l', status: compatIgnored, why: "exposing a port is only metadata; publish it with -p under --network private"},
	{name: "disable-content-trust", kind: 'b', status: compatIgnored, ok: always, why: "images are checked by digest when pulled or loaded"},
	{name: "quiet", aliases: []string{"q"}, kind: 'b', status: compatIgnored, ok: always, why: ""},
	{name: "isolation", kind: 's', status: compatIgnored, ok: oneOf("", "default"), why: "a Windows option"},
	{name: "cpu-count", kind: 's', status: compatIgnored, why: "a Windows option; use --cpus"},
	{name: "cpu-percent", kind: 's', status: compatIgnored, why: "a Windows option; use --cpus"},
	{name: "io-maxbandwidth", kind: 's', status: compatIgnored, why: "a Windows option"},
	{name: "io-maxiops", kind: 's', status: compatIgnored, why: "a Windows option"},
}

// compatCLIFlags makes the (hidden) cli flags of compatTable.
func compatCLIFlags() []cli.Flag {
	var out []cli.Flag
	for _, cf := range compatTable {
		usage := "docker run compatibility (see docs/docker-compat.md)"
		switch cf.kind {
		case 'b':
			out = append(out, &cli.BoolFlag{Name: cf.name, Aliases: cf.aliases, Usage: usage, Hidden: true})
		case 'l':
			out = append(out, &cli.StringSliceFlag{Name: cf.name, Aliases: cf.aliases, Usage: usage, Hidden: true})
		default:
			out = append(out, &cli.StringFlag{Name: cf.name, Aliases: cf.aliases, Usage: usage, Hidden: true})
		}
	}
	return out
}

// flagName renders a flag as docker's help does: "-p, --publish".
func (cf compatFlag) flagName() string {
	n := "--" + cf.name
	for _, a := range cf.aliases {
		if len(a) == 1 {
			return "-" + a + "/" + n
		}
	}
	return n
}

// compatFlags refuses or warns about the compatTable flags given.
func compatFlags(f flagValues, m *dockerMessages) error {
	for _, cf := range compatTable {
		if !f.IsSet(cf.name) {
			continue
		}
		var values []string
		switch cf.kind {
		case 'b':
			values = []string{strconv.FormatBool(f.Bool(cf.name))}
		case 'l':
			values = f.StringSlice(cf.name)
		default:
			values = []string{f.String(cf.name)}
		}
		for _, v := range values {
			if cf.check != nil {
				if err := cf.check(v); err != nil {
					return runtime.ToolError("%s: %v", cf.flagName(), err)
				}
			}
			ok := cf.ok
			if ok == nil {
				ok = oneOf("false")
				if cf.kind != 'b' {
					ok = func(string) bool { return false }
				}
			}
			if ok(v) {
				continue
			}
			shown := cf.flagName()
			if cf.kind != 'b' {
				shown += " " + v
			}
			switch cf.status {
			case compatRefused:
				return refuse(shown, "refused: %s", cf.why)
			case compatNotYet:
				return refuse(shown, "not supported yet: %s", cf.why)
			default:
				m.warnings = append(m.warnings, fmt.Sprintf("%s is ignored: %s", shown, cf.why))
			}
		}
	}
	return nil
}

// printDockerMessages prints the flags' warnings and notices as run prints
// the plan's.
func printDockerMessages(c *cli.Context, m *dockerMessages) {
	for _, w := range m.warnings {
		if logEnabled(c, "warn") {
			fmt.Fprintln(os.Stderr, "safe-run: warning: "+w)
		}
	}
	for _, n := range m.notices {
		if logEnabled(c, "info") {
			fmt.Fprintln(os.Stderr, "safe-run: "+n)
		}
	}
}

// defaultPublishIP is where -p binds when it names no address. docker
// binds every address (0.0.0.0), which puts the port on every network the
// host is on, often by surprise; safe-run binds loopback only, and
// reaching the port from other machines takes an explicit
// -p 0.0.0.0:HOSTPORT:PORT.
const defaultPublishIP = "127.0.0.1"

// dockerNetworkRequest reads -p, --dns, --dns-search, --dns-option and
// --add-host. Whether the network allows them is the plan's decision
// (it knows the profile's network).
func dockerNetworkRequest(f flagValues, m *dockerMessages) (plan.Network, error) {
	var n plan.Network
	for _, v := range f.StringSlice("publish") {
		pub, err := dockercli.ParsePublish(v)
		if err != nil {
			return n, runtime.ToolError("-p/--publish: %v", err)
		}
		switch {
		case pub.Proto == "sctp":
			return n, refuse("-p "+v, "SCTP ports cannot be published (pasta forwards TCP and UDP)")
		case pub.HostPort == 0:
			return n, refuse("-p "+v, "give the host port too, e.g. -p %s:8080:%d (safe-run does not pick a free port for you)", defaultPublishIP, pub.ContainerPort)
		}
		if pub.HostIP == "" {
			pub.HostIP = defaultPublishIP
			m.notices = append(m.notices, fmt.Sprintf("-p %s: published on %s only (safe-run's default); write -p 0.0.0.0:%s to accept connections from other machines", v, defaultPublishIP, v))
		}
		n.Publish = append(n.Publish, plan.Port{HostIP: pub.HostIP, HostPort: pub.HostPort, HostEnd: pub.HostPortEnd,
			ContainerPort: pub.ContainerPort, ContainerEnd: pub.ContainerEnd, Proto: pub.Proto})
	}
	n.DNS = f.StringSlice("dns")
	n.DNSSearch = f.StringSlice("dns-search")
	n.DNSOptions = f.StringSlice("dns-option")
	for _, v := range f.StringSlice("add-host") {
		if strings.HasSuffix(v, "host-gateway") {
			// Mapping the gateway to the host's loopback would expose every
			// local service of the host to the container.
			return n, runtime.ToolError("--add-host %s: not supported yet: safe-run does not let a container reach the host's own services; publish the container's port with -p instead", v)
		}
		h, err := dockercli.ParseAddHost(v)
		if err != nil {
			return n, runtime.ToolError("--add-host: %v", err)
		}
		n.Hosts = append(n.Hosts, plan.HostEntry{Name: h.Name, IP: h.IP.String()})
	}
	if err := plan.ValidateNetwork(n); err != nil {
		return n, runtime.ToolError("%v", err)
	}
	return n, nil
}
