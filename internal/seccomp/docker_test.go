package seccomp

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mustImport(t *testing.T, data []byte, arch specs.Arch, caps []string) *Imported {
	t.Helper()
	imp, err := ImportDocker(data, arch, caps)
	if err != nil {
		t.Fatalf("ImportDocker: %v", err)
	}
	return imp
}

func TestImportDocker(t *testing.T) {
	const profile = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [
    {"names": ["read", "write", "chown32", "no_such_call"], "action": "SCMP_ACT_ALLOW", "comment": "basic"},
    {"name": "getpid", "action": "SCMP_ACT_LOG"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_CHROOT"]}},
    {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_KILL"]}},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
    {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
    {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
    {"names": ["uselib"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
    {"names": ["fchmod"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 420, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["gettid"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["gettid"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
    {"names": ["setns"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}
  ]
}`
	imp := mustImport(t, []byte(profile), specs.ArchX86_64, nil)
	want := []string{"arch_prctl", "clone", "getpid", "gettid", "kill", "ptrace", "read", "write"}
	if !reflect.DeepEqual(imp.Allow, want) {
		t.Errorf("Allow = %q\nwant    %q", imp.Allow, want)
	}
	if want := []string{"chown32", "no_such_call"}; !reflect.DeepEqual(imp.Unknown, want) {
		t.Errorf("Unknown = %q, want %q", imp.Unknown, want)
	}
	if len(imp.Conditional) != 2 {
		t.Errorf("Conditional = %q, want fchmod and clone", imp.Conditional)
	}
	if c := imp.Conditional["fchmod"]; !strings.HasPrefix(c, "not imported") || !strings.Contains(c, "arg1 == 420") {
		t.Errorf("Conditional[fchmod] = %q", c)
	}
	if c := imp.Conditional["clone"]; !strings.HasPrefix(c, "allowed (safe-run's argument rule applies") ||
		!strings.Contains(c, "flags & (CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET) == 0") {
		t.Errorf("Conditional[clone] = %q", c)
	}

	// Capabilities: all includes.caps must be held; any excludes.caps held
	// drops the rule.
	imp = mustImport(t, []byte(profile), specs.ArchX86_64, []string{"CAP_SYS_ADMIN", "CAP_KILL"})
	if !slices.Contains(imp.Allow, "mount") || slices.Contains(imp.Allow, "chroot") || slices.Contains(imp.Allow, "kill") {
		t.Errorf("with CAP_SYS_ADMIN, CAP_KILL: Allow = %q", imp.Allow)
	}
	imp = mustImport(t, []byte(profile), specs.ArchX86_64, []string{"CAP_SYS_ADMIN", "CAP_SYS_CHROOT"})
	if !slices.Contains(imp.Allow, "chroot") {
		t.Errorf("with CAP_SYS_ADMIN, CAP_SYS_CHROOT: Allow = %q", imp.Allow)
	}

	// Another architecture: arches filters follow it.
	imp = mustImport(t, []byte(profile), specs.ArchAARCH64, nil)
	for name, want := range map[string]bool{"set_tls": false /* not an arm64 syscall */, "arch_prctl": false, "read": true} {
		if slices.Contains(imp.Allow, name) != want {
			t.Errorf("aarch64: %s allowed = %v, want %v", name, !want, want)
		}
	}
	if !slices.Contains(imp.Unknown, "set_tls") || !slices.Contains(imp.Unknown, "modify_ldt") {
		t.Errorf("aarch64: Unknown = %q, want set_tls and modify_ldt (arm-only, x86-only)", imp.Unknown)
	}
}

func TestImportDockerErrors(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["a"], "action": "SCMP_ACT_ALLOW"}, {"names": ["b"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}`,
			`syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}`,
			`syscalls[0].action: unknown action "SCMP_ACT_ALOW" (did you mean "SCMP_ACT_ALLOW"?)`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "include": {"caps": ["CAP_SYS_ADMIN"]}}]}`,
			`syscalls[0].include: unknown field (did you mean "includes"?)`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}`,
			`syscalls[0].name: both "name" and "names" are given`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}`,
			`syscalls[0].names: missing`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}`,
			`syscalls[0].action: missing`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`,
			`archMap: both "architectures" and "archMap" are given`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_46"]}`,
			`architectures[0]: unknown architecture "SCMP_ARCH_X86_46"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}`,
			`syscalls[0].includes.minKernel: invalid kernel version "4"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN"]}}]}`,
			`syscalls[0].includes.caps[0]: "SYS_ADMIN" never matches: Docker compares capability names verbatim, write "CAP_SYS_ADMIN"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd46"]}}]}`,
			`syscalls[0].excludes.arches[0]: unknown architecture "amd46"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`,
			`syscalls[0].args[0].index: 6 is out of range (0 to 5)`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}`,
			`syscalls[0].args[0].value: expected a whole number`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {"names": ["read"]}}`,
			`syscalls: expected a list, found an object`},
		{`{"syscalls": []}`, `defaultAction: missing`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}`,
			`defaultAction: SCMP_ACT_ALLOW lets every syscall the profile does not list through (a denylist)`},
		{"{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [,]\n}", `not valid JSON: line 3`},
		{`[]`, `expected an object, found a list`},
	}
	for _, tt := range tests {
		_, err := ImportDocker([]byte(tt.json), specs.ArchX86_64, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ImportDocker(%s)\n = %v\nwant an error containing %q", tt.json, err, tt.want)
		}
	}
}

// dockerSemantics is the reference: what moby's own code makes of its
// default profile for this host (runtime.GOARCH, the running kernel) and
// a container whose bounding set is caps.
func dockerSemantics(t *testing.T, caps []string) (uncond, cond map[string]bool) {
	t.Helper()
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	s, err := mobyseccomp.GetDefaultProfile(rs)
	if err != nil {
		t.Fatal(err)
	}
	uncond, cond = map[string]bool{}, map[string]bool{}
	denied := map[string]bool{}
	for _, r := range s.Syscalls {
		for _, n := range r.Names {
			switch {
			case uncond[n] || denied[n]: // the first unconditional rule decides
			case len(r.Args) > 0 && r.Action == specs.ActAllow:
				cond[n] = true
			case len(r.Args) == 0 && r.Action == specs.ActAllow:
				uncond[n] = true
			case len(r.Args) == 0:
				denied[n] = true
			}
		}
	}
	for n := range uncond {
		delete(cond, n)
	}
	for n := range denied {
		delete(cond, n)
	}
	return uncond, cond
}

// mobyDefaultJSON is moby's DefaultProfile() as JSON.
func mobyDefaultJSON(t *testing.T) []byte {
	t.Helper()
	data, err := json.Marshal(mobyseccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkDockerSemantics compares an import of Docker's default profile with
// moby's own reading of it.
func checkDockerSemantics(t *testing.T, imp *Imported, caps []string) {
	t.Helper()
	uncond, cond := dockerSemantics(t, caps)
	for n := range uncond {
		if !slices.Contains(imp.Allow, n) && !slices.Contains(imp.Unknown, n) {
			t.Errorf("caps %q: %s: Docker allows it, the import neither allows nor reports it", caps, n)
		}
	}
	for n := range cond {
		_, special := filtered[n]
		if slices.Contains(imp.Allow, n) != special {
			t.Errorf("caps %q: %s (conditional in Docker): allowed = %v, want %v", caps, n, !special, special)
		}
		if !special && imp.Conditional[n] == "" && !slices.Contains(imp.Unknown, n) {
			t.Errorf("caps %q: %s: conditional in Docker, not reported", caps, n)
		}
	}
	for _, n := range imp.Allow {
		if !uncond[n] && !cond[n] {
			t.Errorf("caps %q: %s is imported, Docker does not allow it", caps, n)
		}
	}
	for _, n := range imp.Unknown {
		if CheckName(n, specs.ArchX86_64) == nil {
			t.Errorf("%s reported unknown, libseccomp knows it", n)
		}
	}
}

func TestImportDockerDefault(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("moby resolves its profile for the host's architecture; the test expects x86_64")
	}
	data := mobyDefaultJSON(t)
	imp := mustImport(t, data, specs.ArchX86_64, nil)
	checkDockerSemantics(t, imp, nil)

	// The committed copy (used by the profile tests) is the same profile.
	copyData, err := os.ReadFile("testdata/docker-default.json")
	if err != nil {
		t.Fatal(err)
	}
	if fromCopy := mustImport(t, copyData, specs.ArchX86_64, nil); !reflect.DeepEqual(fromCopy, imp) {
		t.Errorf("testdata/docker-default.json imports differently from moby's DefaultProfile()")
	}

	// Without capabilities: what Docker gates behind one is not allowed.
	for _, n := range []string{"mount", "umount2", "unshare", "setns", "bpf", "sethostname", "kcmp", "pidfd_getfd",
		"chroot", "reboot", "init_module", "iopl", "settimeofday", "syslog", "perf_event_open", "open_by_handle_at", "clone3"} {
		if slices.Contains(imp.Allow, n) {
			t.Errorf("no caps: %s is allowed", n)
		}
	}
	// The argument rules: clone, socket and personality are conditional
	// in Docker and have safe-run's own rule.
	for _, n := range []string{"clone", "socket", "personality"} {
		if !slices.Contains(imp.Allow, n) || !strings.HasPrefix(imp.Conditional[n], "allowed (safe-run's argument rule applies") {
			t.Errorf("no caps: %s: allowed = %v, conditional = %q", n, slices.Contains(imp.Allow, n), imp.Conditional[n])
		}
	}
	// Docker allows ptrace and process_vm_* from kernel 4.8 on (minKernel):
	// the import takes the kernel to be new enough.
	for _, n := range []string{"ptrace", "process_vm_readv", "read", "arch_prctl", "modify_ldt"} {
		if !slices.Contains(imp.Allow, n) {
			t.Errorf("no caps: %s is not allowed", n)
		}
	}
	// 32-bit-only names of the profile are reported, not allowed.
	if !slices.Contains(imp.Unknown, "chown32") {
		t.Errorf("Unknown = %q, want chown32 among them", imp.Unknown)
	}

	// CAP_SYS_ADMIN opens its names, and clone and clone3 unconditionally.
	admin := mustImport(t, data, specs.ArchX86_64, []string{"CAP_SYS_ADMIN"})
	checkDockerSemantics(t, admin, []string{"CAP_SYS_ADMIN"})
	for _, n := range []string{"mount", "umount2", "unshare", "setns", "sethostname", "clone", "clone3"} {
		if !slices.Contains(admin.Allow, n) {
			t.Errorf("CAP_SYS_ADMIN: %s is not allowed", n)
		}
	}
	if _, ok := admin.Conditional["clone"]; ok {
		t.Errorf("CAP_SYS_ADMIN: clone is still conditional")
	}
	if slices.Contains(admin.Allow, "kcmp") || slices.Contains(admin.Allow, "reboot") {
		t.Errorf("CAP_SYS_ADMIN opens names of other capabilities")
	}
	ptrace := mustImport(t, data, specs.ArchX86_64, []string{"CAP_SYS_PTRACE"})
	checkDockerSemantics(t, ptrace, []string{"CAP_SYS_PTRACE"})
	if !slices.Contains(ptrace.Allow, "kcmp") || !slices.Contains(ptrace.Allow, "pidfd_getfd") {
		t.Errorf("CAP_SYS_PTRACE: Allow = %q", ptrace.Allow)
	}
}

// roundTripWant is what an import of Build(p)'s export must allow: the
// plain names, plus the filtered names Build gives an allow rule.
func roundTripWant(p Policy) (allow, conditional []string) {
	for _, n := range p.Allow {
		switch n {
		case "clone3": // always ENOSYS
			continue
		case "setns":
			if p.Namespaces == 0 {
				continue // refused outright
			}
		}
		allow = append(allow, n)
		if _, special := filtered[n]; special && !(n == "socket" && p.Families == nil) {
			conditional = append(conditional, n)
		}
	}
	return sortedUnique(allow), sortedUnique(conditional)
}

func TestExportDockerRoundTrip(t *testing.T) {
	all := DefaultPolicy()
	all.Allow = append(append([]string(nil), DefaultAllow...), "setns", "ptrace")
	all.Namespaces = CloneNewUser | CloneNewPID
	all.Families = nil
	policies := map[string]Policy{
		"default":    DefaultPolicy(),
		"namespaces": all,
		"small":      {Allow: []string{"read", "write", "exit_group", "clone"}, DenyErrno: 13, DefaultErrno: 38},
	}
	for name, p := range policies {
		s := Build(p)
		data, err := ExportDocker(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, _ := ExportDocker(Build(p))
		if !bytes.Equal(data, again) {
			t.Errorf("%s: two exports differ", name)
		}
		imp := mustImport(t, data, NativeArch(), nil)
		wantAllow, wantCond := roundTripWant(p)
		if !reflect.DeepEqual(imp.Allow, wantAllow) {
			t.Errorf("%s: round trip Allow = %q\nwant %q", name, imp.Allow, wantAllow)
		}
		var cond []string
		for n, c := range imp.Conditional {
			cond = append(cond, n)
			if !strings.HasPrefix(c, "allowed (safe-run's argument rule applies") {
				t.Errorf("%s: Conditional[%s] = %q", name, n, c)
			}
		}
		sort.Strings(cond)
		if !reflect.DeepEqual(sortedUnique(cond), wantCond) {
			t.Errorf("%s: round trip Conditional = %q, want %q", name, cond, wantCond)
		}
		if len(imp.Unknown) != 0 {
			t.Errorf("%s: Unknown = %q", name, imp.Unknown)
		}

		// Docker's own loader takes it, and gives back the same filter.
		loaded, err := mobyseccomp.LoadProfile(string(data), &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}})
		if err != nil {
			t.Fatalf("%s: moby LoadProfile: %v", name, err)
		}
		if !reflect.DeepEqual(loaded.Syscalls, s.Syscalls) || loaded.DefaultAction != s.DefaultAction ||
			*loaded.DefaultErrnoRet != *s.DefaultErrnoRet || !reflect.DeepEqual(loaded.Architectures, s.Architectures) {
			t.Errorf("%s: moby reads the export differently", name)
		}
		if _, err := Compile(loaded); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestExportDockerLayout(t *testing.T) {
	p := DefaultPolicy()
	p.ListenerPath = "/run/agent.sock"
	data, err := ExportDocker(Build(p))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"architectures", "defaultAction", "defaultErrnoRet", "syscalls"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
	if !strings.HasPrefix(string(data), "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 38,") || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("export is not indented as expected:\n%.200s", data)
	}

	p.Mode = Notify
	if _, err := ExportDocker(Build(p)); err == nil || !strings.Contains(err.Error(), "SCMP_ACT_NOTIFY") {
		t.Errorf("notify filter: err = %v", err)
	}
}

// Exporting an imported Docker default keeps Docker's semantics.
func TestExportImportedDockerDefault(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("moby resolves its profile for the host's architecture; the test expects x86_64")
	}
	imp := mustImport(t, mobyDefaultJSON(t), specs.ArchX86_64, nil)
	s := Build(Policy{Allow: imp.Allow, DenyErrno: 1, DefaultErrno: 38, Arches: []specs.Arch{specs.ArchX86_64}})
	data, err := ExportDocker(s)
	if err != nil {
		t.Fatal(err)
	}
	again := mustImport(t, data, specs.ArchX86_64, nil)
	if !reflect.DeepEqual(again.Allow, imp.Allow) {
		t.Errorf("re-import Allow differs:\n got %q\nwant %q", again.Allow, imp.Allow)
	}
	// Same semantics as Docker's for amd64 without capabilities, up to the
	// names libseccomp does not know here.
	again.Unknown = imp.Unknown
	checkDockerSemantics(t, again, nil)
}

func TestDescribe(t *testing.T) {
	lines := Describe(Build(DefaultPolicy()))
	var text string
	for _, l := range lines {
		text += strings.Join(strings.Fields(l), " ") + "\n" // columns aligned with spaces
	}
	for _, want := range []string{
		"default errno ENOSYS, for every syscall no rule matches (architectures: ",
		"allow accept, accept4, access, ",
		"allow clone if flags & (CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET) == 0\n",
		"errno EPERM clone if flags & CLONE_NEWNS == CLONE_NEWNS || flags & CLONE_NEWCGROUP == CLONE_NEWCGROUP || ",
		"errno EPERM setns\n",
		"allow personality if persona == PER_LINUX || persona == PER_LINUX32 || persona == UNAME26 || persona == UNAME26|PER_LINUX32 || persona == 0xffffffff (query)\n",
		"allow socket if family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK\n",
		"errno EAFNOSUPPORT socket if family == AF_UNSPEC || family == AF_AX25 || ",
		"errno EPERM ioctl if request & 0xffffffff == TIOCSTI || request & 0xffffffff == TIOCLINUX",
		"alternatives)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Describe lacks %q:\n%s", want, text)
		}
	}
	if len(lines) > 20 {
		t.Errorf("%d lines: rules of one syscall and action should be one line", len(lines))
	}
}

func TestPFC(t *testing.T) {
	pfc, err := PFC(Build(DefaultPolicy()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`filter for syscall "read"`, "action ALLOW;", "action ERRNO(38);"} {
		if !strings.Contains(pfc, want) {
			t.Errorf("PFC lacks %q:\n%.500s", want, pfc)
		}
	}
	if _, err := PFC(build([]string{"read"}, 1, specs.Arch("SCMP_ARCH_PDP11"))); err == nil {
		t.Errorf("PFC of an unsupported architecture: no error")
	}
}
