package profile

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/safe-run/safe-run/internal/seccomp"
)

// Merge returns child laid over parent, following the rules in
// docs/profiles.md:
//
//   - scalars (and command, env.pass): the child's value wins when set;
//   - env.set and rlimits: merged by key, the child's value wins;
//   - tmpfs (by path) and binds (by target): merged by key, the child's
//     entry replaces the parent's at the same key, new keys are appended;
//   - capabilities, masked-paths, readonly-paths: parent.add minus
//     child.remove, plus child.add;
//   - seccomp: parent.allow minus child.deny, plus child.allow (groups
//     expanded first); its scalars and lists (architectures, namespaces,
//     socket-families) replace;
//   - resources, selinux and unsafe: merged field by field.
//
// Neither argument is modified. Field origins follow the winning value.
func Merge(parent, child *File) *File {
	m := *parent
	o := &origins{parent: parent.origin, child: child.origin, out: map[string]Pos{}}
	for k, v := range parent.origin {
		if !o.isList(k) {
			o.out[k] = v
		}
	}
	for k, v := range child.origin {
		if !o.isList(k) {
			o.out[k] = v
		}
	}
	m.Extends = child.Extends
	setIf(&m.Description, child.Description)
	if child.Command != nil {
		m.Command = child.Command
	}
	if child.Env != nil {
		env := Env{Set: map[string]string{}}
		if parent.Env != nil {
			env.Pass = parent.Env.Pass
			for k, v := range parent.Env.Set {
				env.Set[k] = v
			}
		}
		for k, v := range child.Env.Set {
			env.Set[k] = v
		}
		if child.Env.Pass != nil {
			env.Pass = child.Env.Pass
		}
		m.Env = &env
	}
	setIf(&m.Workdir, child.Workdir)
	setIf(&m.User, child.User)
	setIf(&m.Hostname, child.Hostname)
	setIf(&m.Rootfs, child.Rootfs)
	setIf(&m.Network, child.Network)
	m.Tmpfs = mergeKeyed(o, "tmpfs", parent.Tmpfs, child.Tmpfs, func(t Tmpfs) string { return t.Path })
	m.Binds = mergeKeyed(o, "binds", parent.Binds, child.Binds, func(b Bind) string { return b.Target })
	m.Capabilities = mergeAddRemove(o, "capabilities", parent.Capabilities, child.Capabilities, capabilityKey)
	m.MaskedPaths = mergeAddRemove(o, "masked-paths", parent.MaskedPaths, child.MaskedPaths, sameKey)
	m.ReadonlyPaths = mergeAddRemove(o, "readonly-paths", parent.ReadonlyPaths, child.ReadonlyPaths, sameKey)
	if parent.Seccomp != nil || child.Seccomp != nil {
		s := Seccomp{}
		if parent.Seccomp != nil {
			s = *parent.Seccomp
		}
		var deny, allow []string
		if c := child.Seccomp; c != nil {
			deny, allow = c.Deny, c.Allow
			setIf(&s.DefaultErrno, c.DefaultErrno)
			setIf(&s.DenyErrno, c.DenyErrno)
			setIf(&s.Import, c.Import)
			setIf(&s.SelfSandbox, c.SelfSandbox)
			if c.Architectures != nil {
				s.Architectures = c.Architectures
			}
			if c.Namespaces != nil {
				s.Namespaces = c.Namespaces
			}
			if c.SocketFamilies != nil {
				s.SocketFamilies = c.SocketFamilies
			}
			if c.AllowIf != nil {
				s.AllowIf = c.AllowIf
			}
		}
		// Groups ("@default") are expanded here, so that a child's deny
		// can take single names out of a group its parent allowed.
		s.Allow = o.list("seccomp.allow", "seccomp.allow", "seccomp.allow", s.Allow, deny, allow, sameKey, expandGroup)
		s.Deny = nil
		m.Seccomp = &s
	}
	if child.Resources != nil {
		r := Resources{}
		if parent.Resources != nil {
			r = *parent.Resources
		}
		setIf(&r.Memory, child.Resources.Memory)
		setIf(&r.CPUs, child.Resources.CPUs)
		setIf(&r.Pids, child.Resources.Pids)
		setIf(&r.Required, child.Resources.Required)
		m.Resources = &r
	}
	if child.SELinux != nil {
		l := SELinux{}
		if parent.SELinux != nil {
			l = *parent.SELinux
		}
		setIf(&l.Mode, child.SELinux.Mode)
		setIf(&l.Type, child.SELinux.Type)
		setIf(&l.Level, child.SELinux.Level)
		m.SELinux = &l
	}
	if child.Rlimits != nil {
		rl := map[string]Rlimit{}
		for k, v := range parent.Rlimits {
			rl[k] = v
		}
		for k, v := range child.Rlimits {
			rl[k] = v
		}
		m.Rlimits = rl
	}
	if child.Unsafe != nil {
		u := Unsafe{}
		if parent.Unsafe != nil {
			u = *parent.Unsafe
		}
		c := child.Unsafe
		setIf(&u.DisableReadonlyRoot, c.DisableReadonlyRoot)
		setIf(&u.DisableNoNewPrivileges, c.DisableNoNewPrivileges)
		setIf(&u.DisableSeccomp, c.DisableSeccomp)
		setIf(&u.DisableNetworkIsolation, c.DisableNetworkIsolation)
		setIf(&u.DisableMaskedPaths, c.DisableMaskedPaths)
		setIf(&u.DisableResourceLimits, c.DisableResourceLimits)
		setIf(&u.DisableSELinux, c.DisableSELinux)
		m.Unsafe = &u
	}
	m.origin = o.out
	return &m
}

// origins re-keys field origins for merged lists, so that an error about
// merged item i still points at the file:line:col where it was written.
type origins struct {
	parent, child, out map[string]Pos
}

// listPrefixes are the list fields whose item indexes change in a merge.
var listPrefixes = []string{"tmpfs[", "binds[", "capabilities.add[", "capabilities.remove[",
	"masked-paths.add[", "masked-paths.remove[", "readonly-paths.add[", "readonly-paths.remove[",
	"seccomp.allow[", "seccomp.deny["}

func (o *origins) isList(key string) bool {
	for _, p := range listPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// move copies the origin of item from[i] to to[j]; with fields, also the
// origins of the item's sub-fields (tmpfs and bind entries).
func (o *origins) move(src map[string]Pos, from string, i int, to string, j int, fields ...string) {
	old, neu := from+"["+strconv.Itoa(i)+"]", to+"["+strconv.Itoa(j)+"]"
	if v, ok := src[old]; ok {
		o.out[neu] = v
	}
	for _, f := range fields {
		if v, ok := src[old+"."+f]; ok {
			o.out[neu+"."+f] = v
		}
	}
}

// list merges parent minus remove plus add (comparing with key), expanding
// items with expand, and records the origins of every resulting item.
func (o *origins) list(outPath, parentPath, childPath string, parent, remove, add []string,
	key func(string) string, expand func(string) []string) []string {
	drop := map[string]bool{}
	for _, r := range remove {
		for _, name := range expand(r) {
			drop[key(name)] = true
		}
	}
	var out []string
	keep := func(src map[string]Pos, path string, i int, item string) {
		for _, name := range expand(item) {
			if !drop[key(name)] {
				o.move(src, path, i, outPath, len(out))
				out = append(out, name)
			}
		}
	}
	for i, item := range parent {
		keep(o.parent, parentPath, i, item)
	}
	drop = map[string]bool{} // a child's own add wins over its own remove
	for i, item := range add {
		keep(o.child, childPath, i, item)
	}
	return out
}

func sameKey(s string) string { return s }

func noExpand(s string) []string { return []string{s} }

// capabilityKey compares capability names as the validator accepts them:
// any case, with or without CAP_.
func capabilityKey(s string) string {
	up := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(up, "CAP_") {
		up = "CAP_" + up
	}
	return up
}

// expandGroup turns "@NAME" into the group's syscalls that exist on this
// architecture; an unknown group is kept as written for validation to
// report.
func expandGroup(s string) []string {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		if names, err := seccomp.GroupOnArch(name, seccomp.NativeArch()); err == nil {
			return names
		}
	}
	return []string{s}
}

func setIf[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func mergeKeyed[T any](o *origins, path string, parent, child []T, key func(T) string) []T {
	var zero T
	fields := fieldNames(yamlFields(reflect.TypeOf(zero)))
	for i := range parent {
		o.move(o.parent, path, i, path, i, fields...)
	}
	if child == nil {
		return parent
	}
	out := append([]T(nil), parent...)
	for j, c := range child {
		slot := len(out)
		for i := range out {
			if key(out[i]) == key(c) {
				slot = i
			}
		}
		if slot == len(out) {
			out = append(out, c)
		} else {
			out[slot] = c
		}
		o.move(o.child, path, j, path, slot, fields...)
	}
	return out
}

func mergeAddRemove(o *origins, path string, parent, child *AddRemove, key func(string) string) *AddRemove {
	var base, remove, add []string
	if parent != nil {
		base = parent.Add
	}
	if child != nil {
		remove, add = child.Remove, child.Add
	}
	if parent == nil && child == nil {
		return nil
	}
	return &AddRemove{Add: o.list(path+".add", path+".add", path+".add", base, remove, add, key, noExpand)}
}
