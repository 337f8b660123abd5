package profile

// Merge returns child laid over parent, following the rules in
// docs/profiles.md:
//
//   - scalars (and command, env.pass): the child's value wins when set;
//   - env.set and rlimits: merged by key, the child's value wins;
//   - tmpfs (by path) and binds (by target): merged by key, the child's
//     entry replaces the parent's at the same key, new keys are appended;
//   - capabilities, masked-paths, readonly-paths: parent.add minus
//     child.remove, plus child.add;
//   - seccomp: parent.allow minus child.deny, plus child.allow;
//   - resources and unsafe: merged field by field.
//
// Neither argument is modified. Field origins follow the winning value.
func Merge(parent, child *File) *File {
	m := *parent
	m.origin = make(map[string]Pos, len(parent.origin)+len(child.origin))
	for k, v := range parent.origin {
		m.origin[k] = v
	}
	for k, v := range child.origin {
		m.origin[k] = v
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
	m.Tmpfs = mergeKeyed(parent.Tmpfs, child.Tmpfs, func(t Tmpfs) string { return t.Path })
	m.Binds = mergeKeyed(parent.Binds, child.Binds, func(b Bind) string { return b.Target })
	m.Capabilities = mergeAddRemove(parent.Capabilities, child.Capabilities)
	m.MaskedPaths = mergeAddRemove(parent.MaskedPaths, child.MaskedPaths)
	m.ReadonlyPaths = mergeAddRemove(parent.ReadonlyPaths, child.ReadonlyPaths)
	if child.Seccomp != nil {
		s := Seccomp{}
		if parent.Seccomp != nil {
			s = *parent.Seccomp
		}
		s.Allow = append(without(s.Allow, child.Seccomp.Deny), child.Seccomp.Allow...)
		s.Deny = nil
		setIf(&s.DefaultErrno, child.Seccomp.DefaultErrno)
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
		m.Unsafe = &u
	}
	return &m
}

func setIf[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func mergeKeyed[T any](parent, child []T, key func(T) string) []T {
	if child == nil {
		return parent
	}
	out := append([]T(nil), parent...)
	for _, c := range child {
		replaced := false
		for i := range out {
			if key(out[i]) == key(c) {
				out[i], replaced = c, true
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return out
}

func mergeAddRemove(parent, child *AddRemove) *AddRemove {
	if child == nil {
		return parent
	}
	var base []string
	if parent != nil {
		base = parent.Add
	}
	return &AddRemove{Add: append(without(base, child.Remove), child.Add...)}
}

// without returns list minus the names in remove, in list's order.
func without(list, remove []string) []string {
	drop := make(map[string]bool, len(remove))
	for _, r := range remove {
		drop[r] = true
	}
	var out []string
	for _, v := range list {
		if !drop[v] {
			out = append(out, v)
		}
	}
	return out
}
