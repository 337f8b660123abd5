package seccomp

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Recorder is the agent handler of `safe-run record`: it lets every
// notified syscall run (NotifRespFlagContinue) and counts it, so that a
// profile fragment allowing them can be written at the end. What no
// profile can allow stays refused even while recording: the TIOCSTI and
// TIOCLINUX ioctls (they type into the host's terminal) and unsafe
// personalities.
type Recorder struct {
	// Policy is the base profile's (what the filter was built from).
	Policy Policy

	mu         sync.Mutex
	total      int
	calls      map[string]int // syscalls the base does not allow at all
	namespaces map[string]int // namespace flags the base refuses
	families   map[string]int // socket families the base refuses
	ioctls     map[string]int // ioctl requests seen (when ioctl was notified)
	refused    map[string]int // always refused, answered with the errno
	nstypeAny  int            // setns(fd, 0): the namespace type is unknown
	allowed    map[string]bool
}

func (r *Recorder) allows(name string) bool {
	if r.allowed == nil {
		r.allowed = map[string]bool{}
		for _, n := range r.Policy.Allow {
			r.allowed[n] = true
		}
	}
	return r.allowed[name]
}

func recBump(m *map[string]int, key string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[key]++
}

// Handle records one notification and answers it.
func (r *Recorder) Handle(n *Notification) Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	name := n.Syscall
	if name == "" {
		// Never notified (unknown syscalls get the default errno in the
		// kernel); answer as the enforcing filter would.
		recBump(&r.refused, SyscallName(n.Arch, n.Nr))
		return Response{Errno: int(r.Policy.DefaultErrno)}
	}
	a := n.Args
	switch name {
	case "ioctl":
		req := a[1] & 0xffffffff
		if slices.Contains(DeniedIoctls, req) {
			recBump(&r.refused, "ioctl("+FormatIoctl(req)+")")
			return Response{Errno: int(r.Policy.DenyErrno)}
		}
		recBump(&r.ioctls, FormatIoctl(req))
	case "personality":
		if !slices.Contains(callSafePersonas, a[0]&0xffffffff) {
			recBump(&r.refused, "personality("+FormatPersona(a[0])+")")
			return Response{Errno: int(r.Policy.DenyErrno)}
		}
	case "clone", "unshare", "setns":
		flags := a[0]
		if name == "setns" {
			flags = a[1]
			if flags == 0 {
				r.nstypeAny++
			}
		}
		for _, ns := range callNamespaces(flags & cloneNamespaceFlags &^ r.Policy.Namespaces) {
			recBump(&r.namespaces, ns)
		}
	case "socket":
		fam := a[0] & 0xffffffff
		if r.Policy.Families != nil && !slices.Contains(r.Policy.Families, fam) {
			if fn := FamilyNameOf(fam); fn != "" {
				recBump(&r.families, fn)
			}
		}
	}
	if !r.allows(name) || (name == "setns" && r.Policy.Namespaces == 0) {
		recBump(&r.calls, name)
	}
	return Response{Continue: true}
}

// Total is the number of notifications handled.
func (r *Recorder) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// FragmentInfo is what the fragment's header and inherited lists need.
type FragmentInfo struct {
	Extends  string    // the base profile, as `extends` must name it
	Profile  string    // its name, for comments
	Command  string    // the safe-run command line
	Date     time.Time // when the recording ended
	Status   string    // how the program ended, e.g. "exit status 0"
	Arch     string    // the native architecture's OCI name, for names libseccomp checks
	Families []string  // the base's socket-families (nil: any)
	// Namespaces are the base's seccomp.namespaces, SelfSandbox its
	// seccomp.self-sandbox.
	Namespaces  []string
	SelfSandbox bool
}

// recPrimaryGroup picks the group a syscall is listed under in the
// fragment: the smallest group holding it (the most specific), leaving
// out the aggregates @system-service and @privileged.
func recPrimaryGroup(name string) string {
	best, size := "", 0
	for _, g := range GroupsOf(name) {
		if g == "@system-service" || g == "@privileged" {
			continue
		}
		list, _ := Group(strings.TrimPrefix(g, "@"))
		if best == "" || len(list) < size {
			best, size = g, len(list)
		}
	}
	if best == "" {
		if g := GroupsOf(name); len(g) > 0 {
			return g[0]
		}
		return "unclassified"
	}
	return best
}

func recSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func recPlural(n int, one string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func recCounted(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%s)", k, recPlural(m[k], "call"))
	}
	return strings.Join(parts, ", ")
}

// Fragment returns the profile fragment (YAML) that extends the base and
// allows what was recorded. Lists the fragment sets (socket-families,
// namespaces) replace the base's, so they repeat the base's entries.
// checkName reports whether a syscall name may be written in
// seccomp.allow (CheckName for the native architecture); names of compat
// ABIs only are written as comments.
func (r *Recorder) Fragment(info FragmentInfo, checkName func(string) error) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	// What the fragment needs.
	selfSandbox := r.namespaces["user"] > 0 || r.calls["chroot"] > 0
	byGroup := map[string][]string{}
	var compat []string
	for name := range r.calls {
		if name == "chroot" && selfSandbox {
			continue // self-sandbox allows it
		}
		if checkName != nil && checkName(name) != nil {
			compat = append(compat, name)
			continue
		}
		g := recPrimaryGroup(name)
		byGroup[g] = append(byGroup[g], name)
	}
	var newNS []string
	for ns := range r.namespaces {
		if selfSandbox && (ns == "user" || ns == "pid" || ns == "net" || ns == "ipc") {
			continue
		}
		if !slices.Contains(info.Namespaces, ns) {
			newNS = append(newNS, ns)
		}
	}
	var newFam []string
	for f := range r.families {
		if info.Families != nil && !slices.Contains(info.Families, f) {
			newFam = append(newFam, f)
		}
	}
	sort.Strings(newNS)
	sort.Strings(newFam)
	sort.Strings(compat)

	// Header. Comments are one line each, whatever the command holds.
	oneLine := strings.NewReplacer("\n", `\n`, "\r", `\r`)
	info.Command, info.Status = oneLine.Replace(info.Command), oneLine.Replace(info.Status)
	w("# Profile fragment written by `safe-run record` on %s.\n", info.Date.UTC().Format(time.RFC3339))
	w("#   command: %s\n", info.Command)
	if info.Status != "" {
		w("#   the program ended with %s\n", info.Status)
	}
	w("# Profile %q refused %s; ", info.Profile, recPlural(r.total, "call"))
	if len(r.refused) > 0 {
		w("all but the %d that no profile can allow", recSum(r.refused))
	} else {
		w("all")
	}
	w(" were let through and recorded.\n")
	w("#\n")
	w("# Coverage: only the code paths this run exercised were observed. Other\n")
	w("# inputs, options, errors or environments may need more: check with\n")
	w("# `safe-run run --explain --profile THIS-FILE -- ...`.\n")
	w("# Only the program's own syscalls are here: runc's setup happens before\n")
	w("# the filter is loaded, and safe-run-init calls only syscalls of the\n")
	w("# default allowlist, so neither ever reaches the recorder.\n")
	w("# TIOCSTI and TIOCLINUX ioctls and unsafe personalities are never\n")
	w("# allowed, even when seen; they stayed refused while recording")
	if len(r.refused) > 0 {
		w(": %s", recCounted(r.refused))
	}
	w(".\n")
	if len(r.ioctls) > 0 {
		w("# ioctl requests seen: %s.\n", recCounted(r.ioctls))
	}
	w("extends: %s\n", recYAMLScalar(info.Extends))

	if len(byGroup) == 0 && len(compat) == 0 && len(newNS) == 0 && len(newFam) == 0 && !selfSandbox {
		w("# Nothing the base refuses was called: the base profile is enough for this run.\n")
		return b.String()
	}
	w("seccomp:\n")
	if len(byGroup) > 0 || len(compat) > 0 {
		w("  allow:\n")
		groupNames := make([]string, 0, len(byGroup))
		for g := range byGroup {
			groupNames = append(groupNames, g)
		}
		sort.Strings(groupNames)
		for _, g := range groupNames {
			names := byGroup[g]
			sort.Strings(names)
			sub := map[string]int{}
			for _, n := range names {
				sub[n] = r.calls[n]
			}
			w("    # %s: %s\n", g, recCounted(sub))
			for _, n := range names {
				w("    - %s\n", n)
			}
		}
		if len(compat) > 0 {
			sub := map[string]int{}
			for _, n := range compat {
				sub[n] = r.calls[n]
			}
			w("    # seen on a compat ABI only (not syscalls of %s, so not listed): %s\n", info.Arch, recCounted(sub))
		}
	}
	if selfSandbox {
		var why []string
		if n := r.namespaces["user"]; n > 0 {
			why = append(why, fmt.Sprintf("user namespaces (%s)", recPlural(n, "call")))
		}
		if n := r.calls["chroot"]; n > 0 {
			why = append(why, fmt.Sprintf("chroot (%s)", recPlural(n, "call")))
		}
		w("  # %s: user namespaces and chroot go together;\n", strings.Join(why, " and "))
		w("  # self-sandbox allows both, with pid, net and ipc namespaces.\n")
		w("  self-sandbox: true\n")
	}
	if len(newNS) > 0 {
		sub := map[string]int{}
		for _, ns := range newNS {
			sub[ns] = r.namespaces[ns]
		}
		w("  # new namespaces: %s (the list replaces the base's)\n", recCounted(sub))
		all := append(slices.Clone(info.Namespaces), newNS...)
		slices.Sort(all)
		w("  namespaces: [%s]\n", strings.Join(slices.Compact(all), ", "))
	}
	if r.nstypeAny > 0 {
		w("  # setns(fd, 0) was called %s: the namespace type was not recorded;\n", recPlural(r.nstypeAny, "time"))
		w("  # list the namespaces it joins in seccomp.namespaces.\n")
	}
	if len(newFam) > 0 {
		sub := map[string]int{}
		for _, f := range newFam {
			sub[f] = r.families[f]
		}
		w("  # new socket families: %s (the list replaces the base's)\n", recCounted(sub))
		all := append(slices.Clone(info.Families), newFam...)
		w("  socket-families: [%s]\n", strings.Join(all, ", "))
	}
	return b.String()
}

// recYAMLScalar quotes s when YAML would not read it back as the same string.
func recYAMLScalar(s string) string {
	plain := s != "" && !strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`\n\t") &&
		strings.TrimSpace(s) == s && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "?")
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		plain = false
	}
	if plain {
		return s
	}
	return fmt.Sprintf("%q", s)
}
