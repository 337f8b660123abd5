package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/safe-run/safe-run/internal/caps"
	"github.com/safe-run/safe-run/internal/suggest"
)

// Docker/moby seccomp profiles (the JSON of `docker run --security-opt
// seccomp=FILE`, also Kubernetes' Localhost profiles): ImportDocker reads
// one into syscall names, ExportDocker writes a filter as one, and
// Describe renders a filter readably.

// Imported is what a Docker profile allows for one architecture and one
// set of capabilities.
type Imported struct {
	// Allow are the names the profile allows unconditionally, plus the
	// names safe-run gives its own argument rule (see filtered) that the
	// profile allows under argument conditions. Sorted.
	Allow []string
	// Conditional maps the names the profile allows only under argument
	// conditions to a one-line description. Names with a safe-run
	// argument rule are in Allow too ("allowed (safe-run's argument rule
	// applies)"); the others are left out of Allow: safe-run cannot express
	// arbitrary argument rules from an import.
	Conditional map[string]string
	// Unknown are names the profile would allow that libseccomp does not
	// know on this architecture; they are skipped. Sorted.
	Unknown []string
}

// DockerError is a problem in a Docker profile, located by its JSON path
// (e.g. "syscalls[3].args[0].op").
type DockerError struct {
	Path string
	Msg  string
}

func (e *DockerError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// dockerProfile is a parsed, validated Docker profile.
type dockerProfile struct {
	defaultAction specs.LinuxSeccompAction
	rules         []dockerRule
}

type dockerRule struct {
	path               string // "syscalls[i]"
	names              []string
	action             specs.LinuxSeccompAction
	args               []specs.LinuxSeccompArg
	includes, excludes *dockerFilter
}

// dockerFilter is a rule's "includes" or "excludes".
type dockerFilter struct {
	caps, arches []string
	minKernel    string
}

var dockerActions = []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread,
	specs.ActTrap, specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}

var dockerOps = []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
	specs.OpEqualTo, specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}

var dockerArches = []specs.Arch{specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM,
	specs.ArchAARCH64, specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
	specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE,
	specs.ArchS390, specs.ArchS390X, specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64,
	specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB}

// filterArches are the architecture names of includes/excludes.arches:
// libseccomp's names, as moby compares them with the host's.
var filterArches = []string{"x86", "amd64", "x32", "arm", "arm64", "loong64", "loongarch64", "m68k",
	"mips", "mips64", "mips64n32", "mipsel", "mipsle", "mipsel64", "mipsel64n32", "mips3l64n32",
	"parisc", "parisc64", "ppc", "ppc64", "ppc64le", "riscv64", "s390", "s390x", "sh", "sheb"}

// ImportDocker reads a Docker/moby seccomp profile and returns what it
// allows on arch for a container with capabilities (canonical names such as
// "CAP_SYS_ADMIN", as in its bounding set).
//
// includes and excludes are resolved as moby's setupSeccomp does: a rule
// applies when every includes.caps is held, the arch is in includes.arches
// (when given), and no excludes.caps is held nor the arch in
// excludes.arches. minKernel is not compared with any kernel: the kernel
// is taken to be new enough, so includes.minKernel always holds and
// excludes.minKernel always excludes (the result does not depend on the
// host; every minKernel in Docker's profile is years old).
//
// Per syscall, the rules are then read as libseccomp (and so runc) does:
// the first rule without argument conditions decides, overriding any rule
// with conditions; otherwise the syscall is allowed under the conditions
// of its allow rules. SCMP_ACT_LOG counts as allow (the call goes
// through). The profile's default action must refuse (a profile whose
// default is SCMP_ACT_ALLOW or SCMP_ACT_LOG lists what to deny, which an
// allowlist cannot take in); its errnos are not imported: the safe-run
// profile's own deny-errno and default-errno apply.
func ImportDocker(data []byte, arch specs.Arch, capabilities []string) (*Imported, error) {
	a, err := scmpArch(arch)
	if err != nil {
		return nil, err
	}
	p, err := parseDocker(data)
	if err != nil {
		return nil, err
	}
	if p.defaultAction == specs.ActAllow || p.defaultAction == specs.ActLog {
		return nil, &DockerError{"defaultAction", fmt.Sprintf("%s lets every syscall the profile does not list through (a denylist): safe-run imports allowlists only", p.defaultAction)}
	}
	hostArch := a.String() // libseccomp's name: "amd64", "arm64", ...

	type verdict struct {
		decided, allowed bool // an unconditional rule decided
		conds            [][]specs.LinuxSeccompArg
	}
	byName := map[string]*verdict{}
	var order []string
	for _, r := range p.rules {
		if !r.applies(hostArch, capabilities) {
			continue
		}
		allows := r.action == specs.ActAllow || r.action == specs.ActLog
		for _, n := range r.names {
			v := byName[n]
			if v == nil {
				v = &verdict{}
				byName[n] = v
				order = append(order, n)
			}
			switch {
			case v.decided:
			case len(r.args) == 0:
				v.decided, v.allowed = true, allows
			case allows:
				v.conds = append(v.conds, r.args)
			}
		}
	}
	out := &Imported{Conditional: map[string]string{}}
	for _, n := range order {
		v := byName[n]
		if v.decided && !v.allowed || !v.decided && len(v.conds) == 0 {
			continue
		}
		if nr, err := libseccomp.GetSyscallFromNameByArch(n, a); err != nil || nr < 0 {
			out.Unknown = append(out.Unknown, n)
			continue
		}
		if v.decided {
			out.Allow = append(out.Allow, n)
			continue
		}
		cond := describeAlternatives(n, v.conds)
		if rule, ok := filtered[n]; ok {
			out.Allow = append(out.Allow, n)
			out.Conditional[n] = fmt.Sprintf("allowed (safe-run's argument rule applies: %s); Docker allows it if %s", rule, cond)
		} else {
			out.Conditional[n] = "not imported: Docker allows it only if " + cond
		}
	}
	out.Allow = sortedUnique(out.Allow)
	out.Unknown = sortedUnique(out.Unknown)
	return out, nil
}

// applies resolves includes and excludes as moby's setupSeccomp does.
func (r *dockerRule) applies(arch string, held []string) bool {
	if ex := r.excludes; ex != nil {
		if slices.Contains(ex.arches, arch) {
			return false
		}
		for _, c := range ex.caps {
			if slices.Contains(held, c) {
				return false
			}
		}
		if ex.minKernel != "" {
			return false // the kernel is taken to be new enough
		}
	}
	if in := r.includes; in != nil {
		if len(in.arches) > 0 && !slices.Contains(in.arches, arch) {
			return false
		}
		for _, c := range in.caps {
			if !slices.Contains(held, c) {
				return false
			}
		}
	}
	return true
}

// parseDocker decodes a Docker profile strictly (an unknown key is an
// error: a misspelt "includes" would otherwise widen the profile) and
// validates it, reporting every problem with its JSON path.
func parseDocker(data []byte) (*dockerProfile, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, &DockerError{"", fmt.Sprintf("not valid JSON: line %d: %v", line, err)}
		}
		return nil, &DockerError{"", fmt.Sprintf("not valid JSON: %v", err)}
	}
	d := &jsonDecoder{}
	p := &dockerProfile{}
	top := d.object(data, "", "defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags",
		"listenerPath", "listenerMetadata", "syscalls")
	if top == nil {
		if len(d.errs) == 0 {
			d.fail("", "expected an object, found null")
		}
		return nil, errors.Join(d.errs...)
	}
	if raw, ok := top["defaultAction"]; ok {
		p.defaultAction = specs.LinuxSeccompAction(d.str(raw, "defaultAction"))
		oneOf(d, "defaultAction", "action", p.defaultAction, dockerActions)
	} else {
		d.fail("defaultAction", "missing: a profile names the action for the syscalls it does not list (e.g. \"SCMP_ACT_ERRNO\")")
	}
	if raw, ok := top["defaultErrnoRet"]; ok {
		d.uint(raw, "defaultErrnoRet", 4095)
	}
	archs := d.array(top["architectures"], "architectures")
	for i, raw := range archs {
		path := fmt.Sprintf("architectures[%d]", i)
		oneOf(d, path, "architecture", specs.Arch(d.str(raw, path)), dockerArches)
	}
	archMap := d.array(top["archMap"], "archMap")
	for i, raw := range archMap {
		path := fmt.Sprintf("archMap[%d]", i)
		m := d.object(raw, path, "architecture", "subArchitectures")
		if m == nil {
			continue
		}
		if a, ok := m["architecture"]; ok {
			oneOf(d, path+".architecture", "architecture", specs.Arch(d.str(a, path+".architecture")), dockerArches)
		} else {
			d.fail(path+".architecture", "missing")
		}
		for j, s := range d.array(m["subArchitectures"], path+".subArchitectures") {
			sp := fmt.Sprintf("%s.subArchitectures[%d]", path, j)
			oneOf(d, sp, "architecture", specs.Arch(d.str(s, sp)), dockerArches)
		}
	}
	if len(archs) > 0 && len(archMap) > 0 {
		d.fail("archMap", "both \"architectures\" and \"archMap\" are given: use one (Docker refuses both)")
	}
	for i, raw := range d.array(top["flags"], "flags") {
		d.str(raw, fmt.Sprintf("flags[%d]", i))
	}
	if raw, ok := top["listenerPath"]; ok {
		d.str(raw, "listenerPath")
	}
	if raw, ok := top["listenerMetadata"]; ok {
		d.str(raw, "listenerMetadata")
	}
	for i, raw := range d.array(top["syscalls"], "syscalls") {
		if r, ok := d.rule(raw, fmt.Sprintf("syscalls[%d]", i)); ok {
			p.rules = append(p.rules, r)
		}
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return p, nil
}

func (d *jsonDecoder) rule(raw json.RawMessage, path string) (dockerRule, bool) {
	r := dockerRule{path: path}
	m := d.object(raw, path, "names", "name", "action", "errnoRet", "args", "includes", "excludes", "comment")
	if m == nil {
		d.fail(path, "expected a rule object, found null")
		return r, false
	}
	nerrs := len(d.errs)
	_, hasNames := m["names"]
	if name, ok := m["name"]; ok {
		if hasNames {
			d.fail(path+".name", "both \"name\" and \"names\" are given: use \"names\"")
		}
		r.names = []string{d.str(name, path+".name")}
	}
	for j, n := range d.array(m["names"], path+".names") {
		r.names = append(r.names, d.str(n, fmt.Sprintf("%s.names[%d]", path, j)))
	}
	if len(r.names) == 0 && len(d.errs) == nerrs {
		d.fail(path+".names", "missing: a rule names at least one syscall")
	}
	for j, n := range r.names {
		if n == "" {
			d.fail(fmt.Sprintf("%s.names[%d]", path, j), "empty syscall name")
		}
	}
	if a, ok := m["action"]; ok {
		r.action = specs.LinuxSeccompAction(d.str(a, path+".action"))
		oneOf(d, path+".action", "action", r.action, dockerActions)
	} else {
		d.fail(path+".action", "missing")
	}
	if e, ok := m["errnoRet"]; ok {
		d.uint(e, path+".errnoRet", 4095)
	}
	for j, a := range d.array(m["args"], path+".args") {
		ap := fmt.Sprintf("%s.args[%d]", path, j)
		am := d.object(a, ap, "index", "value", "valueTwo", "op")
		if am == nil {
			d.fail(ap, "expected an argument object, found null")
			continue
		}
		var arg specs.LinuxSeccompArg
		if v, ok := am["index"]; ok {
			arg.Index = uint(d.uint(v, ap+".index", 5))
		} else {
			d.fail(ap+".index", "missing")
		}
		if v, ok := am["value"]; ok {
			arg.Value = d.uint(v, ap+".value", ^uint64(0))
		}
		if v, ok := am["valueTwo"]; ok {
			arg.ValueTwo = d.uint(v, ap+".valueTwo", ^uint64(0))
		}
		if v, ok := am["op"]; ok {
			arg.Op = specs.LinuxSeccompOperator(d.str(v, ap+".op"))
			oneOf(d, ap+".op", "operator", arg.Op, dockerOps)
		} else {
			d.fail(ap+".op", "missing")
		}
		r.args = append(r.args, arg)
	}
	r.includes = d.filter(m["includes"], path+".includes")
	r.excludes = d.filter(m["excludes"], path+".excludes")
	if c, ok := m["comment"]; ok {
		d.str(c, path+".comment")
	}
	return r, len(d.errs) == nerrs
}

func (d *jsonDecoder) filter(raw json.RawMessage, path string) *dockerFilter {
	m := d.object(raw, path, "caps", "arches", "minKernel")
	if m == nil {
		return nil
	}
	f := &dockerFilter{}
	for i, c := range d.array(m["caps"], path+".caps") {
		cp := fmt.Sprintf("%s.caps[%d]", path, i)
		name := d.str(c, cp)
		// Docker compares the names verbatim with the bounding set.
		if canon, err := caps.Canonical(name); err != nil {
			d.fail(cp, "%v", err)
		} else if canon != name {
			d.fail(cp, "%q never matches: Docker compares capability names verbatim, write %q", name, canon)
		}
		f.caps = append(f.caps, name)
	}
	for i, a := range d.array(m["arches"], path+".arches") {
		ap := fmt.Sprintf("%s.arches[%d]", path, i)
		name := d.str(a, ap)
		if !slices.Contains(filterArches, name) {
			d.fail(ap, "unknown architecture %q%s (libseccomp's names: amd64, arm64, x86, ...)", name, suggest.Hint(name, filterArches))
		}
		f.arches = append(f.arches, name)
	}
	if k, ok := m["minKernel"]; ok {
		f.minKernel = d.str(k, path+".minKernel")
		if f.minKernel != "" && !validMinKernel(f.minKernel) {
			d.fail(path+".minKernel", "invalid kernel version %q: write \"<kernel>.<major>\", e.g. \"4.8\"", f.minKernel)
		}
	}
	return f
}

// validMinKernel accepts what moby's KernelVersion does: "K.M", both
// below 256, not "0.0".
func validMinKernel(s string) bool {
	k, m, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(m, ".") {
		return false
	}
	kv, err1 := strconv.ParseUint(k, 10, 8)
	mv, err2 := strconv.ParseUint(m, 10, 8)
	return err1 == nil && err2 == nil && kv+mv > 0
}

// jsonDecoder reads json.RawMessages, recording errors with their paths.
type jsonDecoder struct{ errs []error }

func (d *jsonDecoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &DockerError{path, fmt.Sprintf(format, args...)})
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string " + string(t)
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + string(t)
}

// object decodes an object that may hold only keys; nil for null or a
// missing value (and for a non-object, reported).
func (d *jsonDecoder) object(raw json.RawMessage, path string, keys ...string) map[string]json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		d.fail(path, "expected an object, found %s", jsonKind(raw))
		return nil
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p := k
		if path != "" {
			p = path + "." + k
		}
		hint := suggest.Hint(k, keys)
		if hint == "" {
			hint = " (valid: " + strings.Join(keys, ", ") + ")"
		}
		d.fail(p, "unknown field%s", hint)
	}
	return m
}

func (d *jsonDecoder) array(raw json.RawMessage, path string) []json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		d.fail(path, "expected a list, found %s", jsonKind(raw))
		return nil
	}
	return a
}

func (d *jsonDecoder) str(raw json.RawMessage, path string) string {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		d.fail(path, "expected a string, found %s", jsonKind(raw))
	}
	return s
}

func (d *jsonDecoder) uint(raw json.RawMessage, path string, max uint64) uint64 {
	var v uint64
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		d.fail(path, "expected a whole number from 0 to %d, found %s", max, jsonKind(raw))
		return 0
	}
	if v > max {
		d.fail(path, "%d is out of range (0 to %d)", v, max)
	}
	return v
}

// oneOf reports got when it is not one of valid.
func oneOf[T ~string](d *jsonDecoder, path, what string, got T, valid []T) {
	if n := len(d.errs); n > 0 && d.errs[n-1].(*DockerError).Path == path {
		return // not a string: already reported
	}
	if !slices.Contains(valid, got) {
		d.fail(path, "unknown %s %q%s", what, got, hintOf(string(got), valid))
	}
}

func hintOf[T ~string](got string, valid []T) string {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	if h := suggest.Hint(got, names); h != "" {
		return h
	}
	return " (valid: " + strings.Join(names, ", ") + ")"
}

func sortedUnique(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return slices.Compact(out)
}

// dockerExport is the layout ExportDocker writes: runtime-spec's
// LinuxSeccomp without the agent's fields.
type dockerExport struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures   []specs.Arch             `json:"architectures,omitempty"`
	Flags           []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	Syscalls        []specs.LinuxSyscall     `json:"syscalls"`
}

// ExportDocker writes s as a Docker seccomp profile, usable with `docker
// run --security-opt seccomp=FILE` and as a Kubernetes Localhost profile:
// defaultAction, defaultErrnoRet, architectures and the rules, indented,
// in s's order (Build's output is already stable). listenerPath and
// listenerMetadata are left out; a filter that sends syscalls to a
// seccomp agent (SCMP_ACT_NOTIFY) is refused, since nothing would answer
// them.
func ExportDocker(s *specs.LinuxSeccomp) ([]byte, error) {
	if s == nil {
		return nil, errors.New("no seccomp filter to export")
	}
	if s.DefaultAction == specs.ActNotify {
		return nil, errors.New("the filter's default action is SCMP_ACT_NOTIFY (safe-run's seccomp agent): export an enforcing filter")
	}
	out := dockerExport{DefaultAction: s.DefaultAction, DefaultErrnoRet: s.DefaultErrnoRet,
		Architectures: s.Architectures, Flags: s.Flags, Syscalls: s.Syscalls}
	if out.Syscalls == nil {
		out.Syscalls = []specs.LinuxSyscall{}
	}
	for i, r := range s.Syscalls {
		if r.Action == specs.ActNotify {
			return nil, fmt.Errorf("syscalls[%d] (%s): SCMP_ACT_NOTIFY needs safe-run's seccomp agent: export an enforcing filter", i, strings.Join(r.Names, ", "))
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Describe renders s one line per rule: the action, the syscall names (a
// long list abbreviated, with its count) and the argument tests, e.g.
//
//	allow        clone if flags & (CLONE_NEWNS|...|CLONE_NEWNET) == 0
//
// Rules with the same names and action are one line, their argument
// tests joined with "||". The first line is the default action.
func Describe(s *specs.LinuxSeccomp) []string {
	type group struct {
		action string
		names  []string
		uncond bool
		conds  [][]specs.LinuxSeccompArg
	}
	var groups []*group
	index := map[string]*group{}
	for _, r := range s.Syscalls {
		act := actionText(r.Action, r.ErrnoRet)
		key := act + "\x00" + strings.Join(r.Names, ",")
		g := index[key]
		if g == nil {
			g = &group{action: act, names: r.Names}
			index[key] = g
			groups = append(groups, g)
		}
		if len(r.Args) == 0 {
			g.uncond = true
		} else {
			g.conds = append(g.conds, r.Args)
		}
	}
	width := len("default")
	for _, g := range groups {
		width = max(width, len(g.action))
	}
	var arches []string
	for _, a := range s.Architectures {
		arches = append(arches, strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_")))
	}
	lines := []string{fmt.Sprintf("%-*s  %s, for every syscall no rule matches (architectures: %s)",
		width, "default", actionText(s.DefaultAction, s.DefaultErrnoRet), orNative(arches))}
	for _, g := range groups {
		line := fmt.Sprintf("%-*s  %s", width, g.action, abbreviate(g.names))
		switch {
		case g.uncond:
		case len(g.names) == 1:
			line += " if " + describeAlternatives(g.names[0], g.conds)
		default:
			line += " if " + describeAlternatives("", g.conds)
		}
		lines = append(lines, line)
	}
	return lines
}

func orNative(arches []string) string {
	if len(arches) == 0 {
		return "native only"
	}
	return strings.Join(arches, ", ")
}

func actionText(a specs.LinuxSeccompAction, errno *uint) string {
	switch a {
	case specs.ActErrno:
		if errno == nil {
			return "errno EPERM"
		}
		if name := unix.ErrnoName(syscall.Errno(*errno)); name != "" {
			return "errno " + name
		}
		return fmt.Sprintf("errno %d", *errno)
	case specs.ActTrace:
		if errno != nil {
			return fmt.Sprintf("trace %d", *errno)
		}
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ACT_")), "_", "-")
}

// abbreviate lists names, the first few and a count for a long list.
func abbreviate(names []string) string {
	const shown = 6
	if len(names) <= shown+2 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … (%d names)", strings.Join(names[:shown], ", "), len(names))
}

// describeAlternatives renders rules' argument tests: the tests of one
// rule joined with "&&", the rules with "||"; a long list abbreviated.
// name ("" when a rule covers several syscalls) names the arguments.
func describeAlternatives(name string, conds [][]specs.LinuxSeccompArg) string {
	var alts []string
	for _, args := range conds {
		var tests []string
		for _, a := range args {
			tests = append(tests, describeArg(name, a))
		}
		alts = append(alts, strings.Join(tests, " && "))
	}
	const shown = 4
	if len(alts) <= shown+1 {
		return strings.Join(alts, " || ")
	}
	return fmt.Sprintf("%s || … (%d alternatives)", strings.Join(alts[:shown], " || "), len(alts))
}

// argKinds names the arguments safe-run's own rules test.
var argKinds = map[string]map[uint]string{
	"clone": {0: "flags"}, "unshare": {0: "flags"}, "setns": {1: "nstype"},
	"socket": {0: "family"}, "ioctl": {1: "request"}, "personality": {0: "persona"},
}

func describeArg(name string, a specs.LinuxSeccompArg) string {
	arg, ok := argKinds[name][a.Index]
	if !ok {
		arg = fmt.Sprintf("arg%d", a.Index)
	}
	val := func(v uint64) string { return argValue(arg, v) }
	switch a.Op {
	case specs.OpMaskedEqual:
		return fmt.Sprintf("%s & %s == %s", arg, val(a.Value), val(a.ValueTwo))
	case specs.OpNotEqual:
		return arg + " != " + val(a.Value)
	case specs.OpLessThan:
		return arg + " < " + val(a.Value)
	case specs.OpLessEqual:
		return arg + " <= " + val(a.Value)
	case specs.OpGreaterEqual:
		return arg + " >= " + val(a.Value)
	case specs.OpGreaterThan:
		return arg + " > " + val(a.Value)
	}
	return arg + " == " + val(a.Value)
}

var cloneFlagNames = []struct {
	flag uint64
	name string
}{{CloneNewNS, "CLONE_NEWNS"}, {CloneNewCgroup, "CLONE_NEWCGROUP"}, {CloneNewUTS, "CLONE_NEWUTS"},
	{CloneNewIPC, "CLONE_NEWIPC"}, {CloneNewUser, "CLONE_NEWUSER"}, {CloneNewPID, "CLONE_NEWPID"}, {CloneNewNet, "CLONE_NEWNET"}}

var personaNames = map[uint64]string{0: "PER_LINUX", 0x8: "PER_LINUX32", 0x20000: "UNAME26",
	0x20008: "UNAME26|PER_LINUX32", 0xffffffff: "0xffffffff (query)"}

// argValue renders v symbolically where the argument's meaning is known.
func argValue(arg string, v uint64) string {
	switch arg {
	case "flags", "nstype":
		if v != 0 && v&^cloneNamespaceFlags == 0 {
			var names []string
			for _, f := range cloneFlagNames {
				if v&f.flag != 0 {
					names = append(names, f.name)
				}
			}
			if len(names) == 1 {
				return names[0]
			}
			return "(" + strings.Join(names, "|") + ")"
		}
	case "family":
		if v == 0 {
			return "AF_UNSPEC"
		}
		for name, f := range SocketFamilies {
			if f == v {
				return "AF_" + strings.ToUpper(name)
			}
		}
	case "request":
		switch v {
		case ioctlTIOCSTI:
			return "TIOCSTI"
		case ioctlTIOCLINUX:
			return "TIOCLINUX"
		}
	case "persona":
		if n, ok := personaNames[v]; ok {
			return n
		}
	}
	if v < 4096 {
		return strconv.FormatUint(v, 10)
	}
	return fmt.Sprintf("%#x", v)
}
