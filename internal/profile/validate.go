package profile

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/caps"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/internal/suggest"
	"golang.org/x/sys/unix"
)

// Defaults for fields the merged chain leaves unset. The shipped `default`
// profile spells the same values out; these make a chain that somehow
// lacks them strict anyway.
const (
	defaultUID, defaultGID = 65534, 65534 // nobody:nogroup
	defaultTmpfsSize       = 64 << 20
	defaultTmpfsMode       = 0o1777
	minMemory              = 6 << 20 // below this the container's own runc init is OOM-killed
)

// rlimitNames are the RLIMIT_* resources of setrlimit(2), lower-case.
var rlimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
	"nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// validEnvName: letters, digits and _, not starting with a digit.
func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validHostname: an RFC 1123 label, 1-63 letters, digits and '-', not
// starting or ending with '-'.
func validHostname(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validate checks the merged file f and fills in defaults, reporting every
// problem at once.
func validate(name string, f *File) (*Resolved, error) {
	v := &validator{f: f, profile: name}
	r := &Resolved{Name: name, Network: NetworkNone, Rootfs: RootfsHost,
		Seccomp: SeccompSettings{DenyErrno: uint(unix.EPERM), DefaultErrno: uint(unix.ENOSYS)},
		Workdir: "/", Hostname: "safe-run", User: User{UID: defaultUID, GID: defaultGID}}
	if f.Description != nil {
		r.Description = *f.Description
	}
	if f.Unsafe != nil {
		u := f.Unsafe
		r.Unsafe = UnsafeSwitches{
			DisableReadonlyRoot: isTrue(u.DisableReadonlyRoot), DisableNoNewPrivileges: isTrue(u.DisableNoNewPrivileges),
			DisableSeccomp: isTrue(u.DisableSeccomp), DisableNetworkIsolation: isTrue(u.DisableNetworkIsolation),
			DisableMaskedPaths: isTrue(u.DisableMaskedPaths), DisableResourceLimits: isTrue(u.DisableResourceLimits),
			DisableSELinux: isTrue(u.DisableSELinux),
		}
	}

	for i, arg := range f.Command {
		if i == 0 && arg == "" {
			v.errorf(fmt.Sprintf("command[%d]", i), "the program name is empty")
		}
	}
	r.Command = f.Command

	r.EnvSet = map[string]string{}
	if f.Env != nil {
		for k, val := range f.Env.Set {
			if !validEnvName(k) {
				v.errorf("env.set."+k, "invalid variable name: use letters, digits and _ , not starting with a digit")
			}
			r.EnvSet[k] = val
		}
		for i, k := range f.Env.Pass {
			if !validEnvName(k) {
				v.errorf(fmt.Sprintf("env.pass[%d]", i), "invalid variable name %q", k)
			}
		}
		r.EnvPass = f.Env.Pass
	}
	if f.Workdir != nil {
		r.Workdir = *f.Workdir
		v.absPath("workdir", r.Workdir, true)
	}
	if f.User != nil {
		r.User = v.user(*f.User)
	}
	if f.Hostname != nil {
		r.Hostname = *f.Hostname
		if !validHostname(r.Hostname) {
			v.errorf("hostname", "invalid hostname %q: use letters, digits and '-', at most 63 characters", r.Hostname)
		}
	}
	if f.Rootfs != nil {
		r.Rootfs = *f.Rootfs
		if r.Rootfs != RootfsHost {
			v.absPath("rootfs", r.Rootfs, false)
		}
	}

	for i, t := range f.Tmpfs {
		p := fmt.Sprintf("tmpfs[%d]", i)
		v.absPath(p+".path", t.Path, false)
		if t.Size == 0 {
			t.Size = defaultTmpfsSize
		}
		if t.Mode == nil {
			m := Mode(defaultTmpfsMode)
			t.Mode = &m
		}
		r.Tmpfs = append(r.Tmpfs, t)
	}
	for i, b := range f.Binds {
		p := fmt.Sprintf("binds[%d]", i)
		switch {
		case strings.HasPrefix(b.Source, "~/"):
			v.relPath(p+".source", strings.TrimPrefix(b.Source, "~/"))
		case b.Source == ".":
		case strings.HasPrefix(b.Source, "./"):
			v.relPath(p+".source", strings.TrimPrefix(b.Source, "./"))
		default:
			v.absPath(p+".source", b.Source, false)
		}
		v.absPath(p+".target", b.Target, false)
		switch b.Relabel {
		case "", "shared", "private":
		default:
			v.errorf(p+".relabel", "unknown relabel %q (valid: shared, like docker's :z; private, like :Z)", b.Relabel)
		}
		r.Binds = append(r.Binds, b)
	}
	v.uniqueTargets(r)

	if f.Capabilities != nil {
		for i, c := range f.Capabilities.Add {
			canon, err := caps.Canonical(c)
			if err != nil {
				v.errorf(fmt.Sprintf("capabilities.add[%d]", i), "%v", err)
				continue
			}
			r.Capabilities = append(r.Capabilities, canon)
		}
	}
	r.Capabilities = sortedUnique(r.Capabilities)

	v.seccomp(f.Seccomp, &r.Seccomp, r.Unsafe.DisableSeccomp)
	r.SELinux = v.selinux(f.SELinux, r.Unsafe.DisableSELinux)

	if f.Network != nil {
		r.Network = *f.Network
		switch r.Network {
		case NetworkNone, NetworkPrivate:
		case NetworkHost:
			if !r.Unsafe.DisableNetworkIsolation {
				v.errorf("network", "\"host\" shares the host's network namespace: also set unsafe.disable-network-isolation: true to accept that")
			}
		default:
			hint := suggest.Hint(r.Network, []string{NetworkNone, NetworkPrivate, NetworkHost})
			if r.Network == "bridge" {
				hint = " (docker's bridge network is network: private in safe-run)"
			}
			v.errorf("network", "unknown network %q%s (valid: none, private, host)", r.Network, hint)
		}
	}
	if r.Unsafe.DisableNetworkIsolation && r.Network != NetworkHost {
		r.Network = NetworkHost
	}

	if res := f.Resources; res != nil {
		if res.Memory != nil {
			r.Memory = int64(*res.Memory)
		}
		if res.CPUs != nil {
			r.CPUs = float64(*res.CPUs)
		}
		if res.Pids != nil {
			r.Pids = int64(*res.Pids)
		}
		r.LimitsRequired = isTrue(res.Required)
	}
	if r.Memory != 0 && r.Memory < minMemory {
		v.errorf("resources.memory", "%s is too small to start a container: use at least 6m", Size(r.Memory))
	}
	if !r.Unsafe.DisableResourceLimits {
		if r.Memory == 0 {
			v.errorf("resources.memory", "no memory limit: set one (e.g. \"512m\"), or set unsafe.disable-resource-limits: true")
		}
		if r.Pids == 0 {
			v.errorf("resources.pids", "no pids limit: set one (e.g. 256), or set unsafe.disable-resource-limits: true")
		}
	}

	r.Rlimits = map[string]Rlimit{}
	for k, lim := range f.Rlimits {
		key := strings.TrimPrefix(strings.ToLower(k), "rlimit_")
		if sort.SearchStrings(rlimitNames, key) == len(rlimitNames) || rlimitNames[sort.SearchStrings(rlimitNames, key)] != key {
			v.errorf("rlimits."+k, "unknown resource%s (valid: %s)", suggest.Hint(key, rlimitNames), strings.Join(rlimitNames, ", "))
			continue
		}
		r.Rlimits[key] = lim
	}

	if f.MaskedPaths != nil {
		r.MaskedPaths = sortedUnique(v.absPaths("masked-paths.add", f.MaskedPaths.Add))
	}
	if f.ReadonlyPaths != nil {
		r.ReadonlyPaths = sortedUnique(v.absPaths("readonly-paths.add", f.ReadonlyPaths.Add))
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return r, nil
}

type validator struct {
	f       *File
	profile string
	errs    []error
}

// errorf records an error at a field path, located through the merged
// file's origins (the closest recorded parent path when the exact one,
// e.g. a merged list index, has none).
func (v *validator) errorf(field, format string, args ...any) {
	e := &FieldError{File: "profile " + quote(v.profile), Path: field, Msg: fmt.Sprintf(format, args...)}
	for p := field; p != ""; p = parentPath(p) {
		if pos, ok := v.f.origin[p]; ok {
			e.File, e.Line, e.Col = pos.File, pos.Line, pos.Col
			if p == field && pos.Path != "" {
				e.Path = pos.Path // the index as written in that file
			}
			break
		}
	}
	v.errs = append(v.errs, e)
}

func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i > 0 {
		return p[:i]
	}
	return ""
}

func (v *validator) absPath(field, p string, rootOK bool) {
	switch {
	case p == "":
		v.errorf(field, "empty path")
	case !path.IsAbs(p):
		v.errorf(field, "%q is not absolute: write it from /", p)
	case path.Clean(p) != p:
		v.errorf(field, "%q is not clean: write %q", p, path.Clean(p))
	case p == "/" && !rootOK:
		v.errorf(field, "\"/\" cannot be used here")
	}
}

func (v *validator) relPath(field, p string) {
	if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || path.IsAbs(p) {
		v.errorf(field, "%q must be a clean path below the home (~/) or current (./) directory, e.g. \"~/Downloads\"", p)
	}
}

func (v *validator) absPaths(field string, list []string) []string {
	for i, p := range list {
		v.absPath(fmt.Sprintf("%s[%d]", field, i), p, false)
	}
	return list
}

func (v *validator) uniqueTargets(r *Resolved) {
	seen := map[string]bool{}
	for _, t := range r.Tmpfs {
		seen[t.Path] = true
	}
	for i, b := range r.Binds {
		if seen[b.Target] {
			v.errorf(fmt.Sprintf("binds[%d].target", i), "%q is already a tmpfs or bind target", b.Target)
		}
		seen[b.Target] = true
	}
}

// seccomp validates the seccomp settings into out.
func (v *validator) seccomp(f *Seccomp, out *SeccompSettings, disabled bool) {
	if f == nil {
		f = &Seccomp{}
	}
	arch := seccomp.NativeArch()
	for i, s := range f.Allow {
		if group, ok := strings.CutPrefix(s, "@"); ok {
			// Known groups were expanded by Merge; what is left is unknown.
			_, err := seccomp.Group(group)
			v.errorf(fmt.Sprintf("seccomp.allow[%d]", i), "%v", err)
			continue
		}
		if err := seccomp.CheckName(s, arch); err != nil {
			v.errorf(fmt.Sprintf("seccomp.allow[%d]", i), "%v", err)
			continue
		}
		out.Allow = append(out.Allow, s)
	}
	if f.DenyErrno != nil {
		out.DenyErrno = v.errno("seccomp.deny-errno", *f.DenyErrno)
	}
	if f.DefaultErrno != nil {
		out.DefaultErrno = v.errno("seccomp.default-errno", *f.DefaultErrno)
	}
	for i, a := range f.Architectures {
		switch sa, ok := seccomp.ArchNames[a]; {
		case !ok:
			v.errorf(fmt.Sprintf("seccomp.architectures[%d]", i), "unknown architecture %q%s (valid: %s)", a, suggest.Hint(a, keys(seccomp.ArchNames)), strings.Join(keys(seccomp.ArchNames), ", "))
		case sa == arch:
			v.errorf(fmt.Sprintf("seccomp.architectures[%d]", i), "%q is the native ABI, always covered: list only compat ABIs (e.g. x86, x32)", a)
		default:
			out.Architectures = append(out.Architectures, a)
		}
	}
	out.Architectures = sortedUnique(out.Architectures)
	for i, n := range f.Namespaces {
		if _, ok := seccomp.NamespaceFlags[n]; !ok {
			v.errorf(fmt.Sprintf("seccomp.namespaces[%d]", i), "unknown namespace %q%s (valid: %s)", n, suggest.Hint(n, keys(seccomp.NamespaceFlags)), strings.Join(keys(seccomp.NamespaceFlags), ", "))
			continue
		}
		out.Namespaces = append(out.Namespaces, n)
	}
	out.SelfSandbox = isTrue(f.SelfSandbox)
	if out.SelfSandbox {
		out.Namespaces = append(out.Namespaces, "user", "pid", "net", "ipc")
		out.Allow = append(out.Allow, "chroot")
	}
	out.Namespaces = sortedUnique(out.Namespaces)
	out.Allow = sortedUnique(out.Allow)
	// A program that gets user namespaces but cannot chroot inside them
	// (or the reverse) half-builds its own sandbox: Firefox crash-loops.
	hasUser := slices.Contains(out.Namespaces, "user")
	hasChroot := slices.Contains(out.Allow, "chroot")
	if hasUser != hasChroot && !disabled {
		v.errorf("seccomp.namespaces", "user namespaces and chroot go together (programs that sandbox themselves need both): set seccomp.self-sandbox: true, or drop both")
	}
	out.SocketFamilies = []string{}
	for i, fam := range f.SocketFamilies {
		if fam == "any" {
			if len(f.SocketFamilies) > 1 {
				v.errorf(fmt.Sprintf("seccomp.socket-families[%d]", i), "\"any\" cannot be combined with other families")
			}
			out.SocketFamilies = nil
			break
		}
		if _, ok := seccomp.SocketFamilies[fam]; !ok {
			v.errorf(fmt.Sprintf("seccomp.socket-families[%d]", i), "unknown address family %q%s", fam, suggest.Hint(fam, keys(seccomp.SocketFamilies)))
			continue
		}
		out.SocketFamilies = append(out.SocketFamilies, fam)
	}
	if out.SocketFamilies != nil {
		out.SocketFamilies = sortedUnique(out.SocketFamilies)
		if out.SocketFamilies == nil {
			out.SocketFamilies = []string{}
		}
	}
	out.Conditions = v.conditions(f.AllowIf, out.Allow, arch)
	if len(out.Allow) == 0 && !disabled {
		v.errorf("seccomp.allow", "the allowlist is empty: extend \"default\" (or list syscalls); to run without a filter set unsafe.disable-seccomp: true")
	}
}

// argOps maps the profile's operator names to OCI ones.
var argOps = map[string]specs.LinuxSeccompOperator{
	"eq": specs.OpEqualTo, "ne": specs.OpNotEqual, "lt": specs.OpLessThan, "le": specs.OpLessEqual,
	"gt": specs.OpGreaterThan, "ge": specs.OpGreaterEqual, "masked-eq": specs.OpMaskedEqual,
}

// conditions validates seccomp.allow-if.
func (v *validator) conditions(list []ArgCondition, allow []string, arch specs.Arch) []seccomp.Condition {
	var out []seccomp.Condition
	for i, c := range list {
		field := fmt.Sprintf("seccomp.allow-if[%d]", i)
		if err := seccomp.CheckName(c.Syscall, arch); err != nil {
			v.errorf(field+".syscall", "%v", err)
			continue
		}
		if rule := seccomp.ArgumentRule(c.Syscall); rule != "" {
			v.errorf(field+".syscall", "%s has safe-run's own argument rule (%s): use seccomp.namespaces or seccomp.socket-families", c.Syscall, rule)
			continue
		}
		if slices.Contains(allow, c.Syscall) {
			v.errorf(field+".syscall", "%s is already allowed unconditionally by seccomp.allow: remove it there, or drop this condition", c.Syscall)
			continue
		}
		n, known := seccomp.Arity(c.Syscall)
		switch {
		case c.Arg < 0 || c.Arg > 5:
			v.errorf(field+".arg", "argument %d does not exist: syscalls have arguments 0 to 5", c.Arg)
			continue
		case known && n == 0:
			v.errorf(field+".arg", "%s takes no arguments: there is nothing to compare", c.Syscall)
			continue
		case known && c.Arg >= int64(n):
			v.errorf(field+".arg", "%s has %d argument(s), 0 to %d: argument %d does not exist", c.Syscall, n, n-1, c.Arg)
			continue
		}
		op, ok := argOps[c.Op]
		if !ok {
			v.errorf(field+".op", "unknown operator %q%s (valid: %s)", c.Op, suggest.Hint(c.Op, keys(argOps)), strings.Join(keys(argOps), ", "))
			continue
		}
		cond := seccomp.Condition{Syscall: c.Syscall, Index: uint(c.Arg), Op: op, Value: uint64(c.Value)}
		if op == specs.OpMaskedEqual {
			if c.Mask == 0 {
				v.errorf(field+".mask", "masked-eq needs a non-zero mask (the condition is arg & mask == value)")
				continue
			}
			cond.Value, cond.ValueTwo = uint64(c.Mask), uint64(c.Value)
		} else if c.Mask != 0 {
			v.errorf(field+".mask", "mask is only used with op: masked-eq")
			continue
		}
		out = append(out, cond)
	}
	return out
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// selinux validates the selinux settings.
func (v *validator) selinux(f *SELinux, disabled bool) SELinuxSettings {
	out := SELinuxSettings{Mode: SELinuxAuto, Type: "container_t", Level: LevelAuto}
	if f != nil {
		if f.Mode != nil {
			out.Mode = *f.Mode
		}
		if f.Type != nil {
			out.Type = *f.Type
		}
		if f.Level != nil {
			out.Level = *f.Level
		}
	}
	modes := []string{SELinuxAuto, SELinuxRequired, SELinuxOff}
	switch {
	case !slices.Contains(modes, out.Mode):
		v.errorf("selinux.mode", "unknown mode %q%s (valid: auto, required, off)", out.Mode, suggest.Hint(out.Mode, modes))
	case out.Mode == SELinuxOff && !disabled:
		v.errorf("selinux.mode", "\"off\" turns SELinux labels off: also set unsafe.disable-selinux: true to accept that")
	case out.Mode == SELinuxRequired && disabled:
		v.errorf("selinux.mode", "\"required\" contradicts unsafe.disable-selinux: true")
	}
	if disabled {
		out.Mode = SELinuxOff
	}
	if !validSELinuxType(out.Type) {
		v.errorf("selinux.type", "invalid type %q: an SELinux type such as container_t", out.Type)
	}
	if out.Level != LevelAuto && !validMCSLevel(out.Level) {
		v.errorf("selinux.level", "invalid level %q: \"auto\" or an MCS level such as \"s0:c100,c200\"", out.Level)
	}
	return out
}

// validSELinuxType: lower-case letters, digits and _, ending in _t.
func validSELinuxType(s string) bool {
	if !strings.HasSuffix(s, "_t") || len(s) < 3 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validMCSLevel accepts "sN" or "sN:cA,cB,..." with categories 0-1023.
func validMCSLevel(s string) bool {
	sens, cats, hasCats := strings.Cut(s, ":")
	if len(sens) < 2 || sens[0] != 's' {
		return false
	}
	if _, err := strconv.ParseUint(sens[1:], 10, 8); err != nil {
		return false
	}
	if !hasCats {
		return true
	}
	for _, c := range strings.Split(cats, ",") {
		n, err := strconv.ParseUint(strings.TrimPrefix(c, "c"), 10, 16)
		if !strings.HasPrefix(c, "c") || err != nil || n > 1023 {
			return false
		}
	}
	return true
}

// user parses "invoking", "UID" or "UID:GID".
func (v *validator) user(s string) User {
	if s == "invoking" {
		return User{Invoking: true}
	}
	uid, gid, err := ParseUIDGID(s)
	if err != nil {
		v.errorf("user", "invalid user %q: write \"UID:GID\" with numbers (e.g. \"65534:65534\") or \"invoking\"", s)
	}
	return User{UID: uid, GID: gid}
}

// errno parses an errno name such as "EPERM" or "ENOSYS".
func (v *validator) errno(field, name string) uint {
	want := strings.ToUpper(name)
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == want {
			return uint(e)
		}
	}
	v.errorf(field, "unknown errno %q: use a name such as EPERM or ENOSYS", name)
	return uint(unix.EPERM)
}

func isTrue(b *bool) bool { return b != nil && *b }

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	j := 0
	for i := range out {
		if i == 0 || out[i] != out[i-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}
