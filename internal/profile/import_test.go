package profile

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/safe-run/safe-run/internal/seccomp"
)

const smallDocker = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read", "write", "exit_group", "chown32"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["fchmod"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 420, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}
  ]
}`

const limits = "resources:\n  memory: 64m\n  pids: 8\n"

func TestSeccompImport(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"json/docker.json": smallDocker,
		"app.yaml":         "extends: none\nseccomp:\n  import: json/docker.json\n  allow: [getpid]\n  deny: [write]\n" + limits,
		"admin.yaml":       "extends: none\ncapabilities:\n  add: [sys_admin]\nseccomp:\n  import: json/docker.json\n" + limits,
		"child.yaml":       "extends: app\nseccomp:\n  deny: [read]\n",
		"typo.yaml":        "extends: none\nseccomp:\n  import: json/docker.json\n  allow: [getpdi]\n" + limits,
	})
	f := siteFinder(dir)

	r, err := f.Load("app")
	if err != nil {
		t.Fatal(err)
	}
	// Imported, plus the file's allow, less the file's deny; the
	// conditional fchmod and the 32-bit chown32 are skipped.
	if want := []string{"clone", "exit_group", "getpid", "read"}; !slices.Equal(r.Seccomp.Allow, want) {
		t.Errorf("app: allow = %q, want %q", r.Seccomp.Allow, want)
	}

	// The capabilities the file adds open Docker's cap-gated rules.
	r, err = f.Load("admin")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Seccomp.Allow, "mount") {
		t.Errorf("admin: allow = %q, want mount (CAP_SYS_ADMIN)", r.Seccomp.Allow)
	}

	// A child's deny takes imported names out like any other.
	r, err = f.Load("child")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"clone", "exit_group", "getpid"}; !slices.Equal(r.Seccomp.Allow, want) {
		t.Errorf("child: allow = %q, want %q", r.Seccomp.Allow, want)
	}

	// Imported names point at the import key; written ones keep their line.
	chain, err := f.chain("app")
	if err != nil {
		t.Fatal(err)
	}
	origin := chain[0].file.origin
	if p := origin["seccomp.allow[0]"]; p.Path != "seccomp.import" || p.Line != 3 {
		t.Errorf("origin of an imported name = %+v, want seccomp.import at line 3", p)
	}
	n := len(chain[0].file.Seccomp.Allow)
	if p := origin["seccomp.allow["+strconv.Itoa(n-1)+"]"]; p.Path != "seccomp.allow[0]" || p.Line != 4 {
		t.Errorf("origin of the written name = %+v, want seccomp.allow[0] at line 4", p)
	}
	_, err = f.Load("typo")
	errs := fieldErrors(t, err)
	if len(errs) != 1 || errs[0].Path != "seccomp.allow[0]" || errs[0].Line != 4 || !strings.Contains(errs[0].Msg, `syscall "getpdi": unknown syscall`) {
		t.Errorf("typo after an import: %v", err)
	}

	imports, err := f.SeccompImports("app")
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) != 1 || imports[0].File != filepath.Join(dir, "json/docker.json") ||
		!slices.Equal(imports[0].Imported.Unknown, []string{"chown32"}) || imports[0].Imported.Conditional["fchmod"] == "" {
		t.Errorf("SeccompImports = %+v", imports)
	}
}

func TestSeccompImportErrors(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"bad.json":     `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "SCMP_CMP_FOO"}]}, {"names": ["x"]}]}`,
		"missing.yaml": "extends: none\nseccomp:\n  import: nope.json\n" + limits,
		"bad.yaml":     "extends: none\nseccomp:\n  import: bad.json\n" + limits,
		"empty.yaml":   "extends: none\nseccomp:\n  import: \"\"\n" + limits,
	})
	f := siteFinder(dir)
	for _, tt := range []struct {
		ref  string
		msgs []string
	}{
		{"missing", []string{filepath.Join(dir, "nope.json") + ": no such file or directory"}},
		{"bad", []string{
			filepath.Join(dir, "bad.json") + `: syscalls[0].args[0].op: unknown operator "SCMP_CMP_FOO"`,
			filepath.Join(dir, "bad.json") + `: syscalls[1].action: missing`,
		}},
		{"empty", []string{"empty path"}},
	} {
		_, err := f.Load(tt.ref)
		errs := fieldErrors(t, err)
		if len(errs) != len(tt.msgs) {
			t.Errorf("%s: %d errors, want %d:\n%v", tt.ref, len(errs), len(tt.msgs), err)
			continue
		}
		for i, e := range errs {
			if e.File != filepath.Join(dir, tt.ref+".yaml") || e.Line != 3 || e.Path != "seccomp.import" || !strings.HasPrefix(e.Msg, tt.msgs[i]) {
				t.Errorf("%s: error %q, want %s:3:3: seccomp.import: %s", tt.ref, e, tt.ref+".yaml", tt.msgs[i])
			}
		}
	}

	// A shipped profile has no directory to import from.
	emb := &Finder{Embedded: fstest.MapFS{
		"default.yaml": {Data: []byte("extends: none\nseccomp:\n  import: docker.json\n" + limits)},
		"docker.json":  {Data: []byte(smallDocker)},
	}}
	_, err := emb.Load("default")
	wantContains(t, err, "embedded:default:3:3: seccomp.import: a shipped profile cannot import a file")
}

// Docker's default profile (a copy of moby's, see
// internal/seccomp/testdata/README.md) as a profile's allowlist.
func TestSeccompImportDockerDefault(t *testing.T) {
	docker, err := filepath.Abs("../seccomp/testdata/docker-default.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeProfiles(t, map[string]string{
		"docker.yaml":  "extends: none\nseccomp:\n  import: " + docker + "\n" + limits,
		"nodebug.yaml": "extends: docker\nseccomp:\n  deny: [\"@debug\"]\n",
		"admin.yaml":   "extends: none\ncapabilities:\n  add: [CAP_SYS_ADMIN]\nseccomp:\n  import: " + docker + "\n" + limits,
	})
	f := siteFinder(dir)
	data, err := os.ReadFile(docker)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := seccomp.ImportDocker(data, seccomp.NativeArch(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Load("docker")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Seccomp.Allow, imp.Allow) {
		t.Errorf("allow differs from the import:\n got %q\nwant %q", r.Seccomp.Allow, imp.Allow)
	}
	for name, want := range map[string]bool{"read": true, "clone": true, "socket": true, "ptrace": true, "mount": false, "unshare": false} {
		if slices.Contains(r.Seccomp.Allow, name) != want {
			t.Errorf("docker: %s allowed = %v, want %v", name, !want, want)
		}
	}
	s := seccomp.Build(seccomp.Policy{Allow: r.Seccomp.Allow, DenyErrno: r.Seccomp.DenyErrno, DefaultErrno: r.Seccomp.DefaultErrno})
	if _, err := seccomp.Compile(s); err != nil {
		t.Errorf("the imported allowlist does not compile: %v", err)
	}

	r, err = f.Load("nodebug")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(r.Seccomp.Allow, "ptrace") || !slices.Contains(r.Seccomp.Allow, "read") {
		t.Errorf("nodebug: the child's deny of @debug did not apply")
	}

	r, err = f.Load("admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mount", "unshare", "setns", "umount2"} {
		if !slices.Contains(r.Seccomp.Allow, n) {
			t.Errorf("admin: %s is not allowed", n)
		}
	}

	imports, err := f.SeccompImports("nodebug")
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) != 1 || imports[0].Profile != filepath.Join(dir, "docker.yaml") || len(imports[0].Imported.Unknown) == 0 {
		t.Errorf("SeccompImports(nodebug) = %+v", imports)
	}
}
