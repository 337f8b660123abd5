package profile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/profiles"
)

func sortedDefaultAllow() []string {
	s := append([]string(nil), seccomp.DefaultAllow...)
	sort.Strings(s)
	return s
}

func TestLoadShipped(t *testing.T) {
	f := siteFinder()
	tests := []struct {
		ref    string
		source string
		chain  []string
		check  func(t *testing.T, r *Resolved)
	}{
		{"default", "embedded:default", []string{"embedded:default"}, func(t *testing.T, r *Resolved) {
			if r.Memory != 512<<20 || r.Pids != 256 || r.CPUs != 1 {
				t.Errorf("limits = %d/%d/%v", r.Memory, r.Pids, r.CPUs)
			}
			if !reflect.DeepEqual(r.Seccomp.Allow, sortedDefaultAllow()) {
				t.Errorf("seccomp allow differs from DefaultAllow")
			}
			if r.User != (User{UID: 65534, GID: 65534}) || r.Network != NetworkNone || r.Rootfs != RootfsHost {
				t.Errorf("user %+v network %q rootfs %q", r.User, r.Network, r.Rootfs)
			}
			if len(r.Capabilities) != 0 {
				t.Errorf("capabilities = %v, want none", r.Capabilities)
			}
			if r.Rlimits["core"] != (Rlimit{0, 0}) || r.Rlimits["nofile"] != (Rlimit{1024, 1024}) {
				t.Errorf("rlimits = %v", r.Rlimits)
			}
			if r.Seccomp.DenyErrno != 1 {
				t.Errorf("errno = %d, want EPERM", r.Seccomp.DenyErrno)
			}
			if len(r.Tmpfs) != 1 || r.Tmpfs[0].Path != "/tmp" || *r.Tmpfs[0].Mode != 0o1777 || r.Tmpfs[0].Size != 64<<20 {
				t.Errorf("tmpfs = %+v", r.Tmpfs)
			}
			if len(r.Warnings()) != 0 {
				t.Errorf("default has warnings: %q", r.Warnings())
			}
		}},
		{"build", "embedded:build", []string{"embedded:default", "embedded:build"}, func(t *testing.T, r *Resolved) {
			if r.Memory != 2<<30 || r.Pids != 1024 || r.CPUs != 2 || !r.User.Invoking || r.Workdir != "/src" {
				t.Errorf("build = memory %d pids %d cpus %v user %+v workdir %q", r.Memory, r.Pids, r.CPUs, r.User, r.Workdir)
			}
			if len(r.Tmpfs) != 1 || r.Tmpfs[0].Size != 1<<30 || !r.Tmpfs[0].Exec || *r.Tmpfs[0].Mode != 0o1777 {
				t.Errorf("tmpfs /tmp not replaced by build's: %+v", r.Tmpfs)
			}
			if r.EnvSet["HOME"] != "/tmp" {
				t.Errorf("env not inherited: %v", r.EnvSet)
			}
		}},
		{"shell", "embedded:shell", []string{"embedded:default", "embedded:shell"}, func(t *testing.T, r *Resolved) {
			if r.Memory != 1<<30 || r.Pids != 512 || r.CPUs != 1 {
				t.Errorf("shell limits = %d/%d/%v", r.Memory, r.Pids, r.CPUs)
			}
			if len(r.Tmpfs) != 2 || r.Tmpfs[1].Path != "/home/user" || *r.Tmpfs[1].Mode != 0o700 {
				t.Errorf("tmpfs = %+v", r.Tmpfs)
			}
			if r.EnvSet["HOME"] != "/home/user" || r.EnvSet["LANG"] != "C.UTF-8" {
				t.Errorf("env.set = %v", r.EnvSet)
			}
			if !reflect.DeepEqual(r.EnvPass, []string{"TERM", "COLORTERM", "LANG", "LC_ALL"}) {
				t.Errorf("env.pass = %v", r.EnvPass)
			}
		}},
		{"embedded:build", "embedded:build", []string{"embedded:default", "embedded:build"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := f.Load(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != tt.source || !reflect.DeepEqual(r.Chain, tt.chain) {
				t.Errorf("source %q chain %q, want %q %q", r.Source, r.Chain, tt.source, tt.chain)
			}
			if r.Name != strings.TrimPrefix(tt.ref, EmbeddedPrefix) {
				t.Errorf("name = %q", r.Name)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// Every shipped profile loads, validates, and has a description.
func TestShippedProfilesLoad(t *testing.T) {
	matches, err := fs.Glob(profiles.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) < 3 {
		t.Fatalf("only %d shipped profiles: %v", len(matches), matches)
	}
	f := siteFinder()
	for _, m := range matches {
		name := strings.TrimSuffix(m, ".yaml")
		t.Run(name, func(t *testing.T) {
			if !validName(name) {
				t.Errorf("shipped profile name %q is not a valid profile name", name)
			}
			r, err := f.Load(name)
			if err != nil {
				t.Fatalf("shipped profile %s: %v", name, err)
			}
			if r.Description == "" {
				t.Errorf("no description")
			}
			if r.Chain[0] != "embedded:default" || r.Source != "embedded:"+name {
				t.Errorf("chain %q source %q", r.Chain, r.Source)
			}
			if len(r.Warnings()) != 0 {
				t.Errorf("shipped profile weakens defaults: %q", r.Warnings())
			}
			if r.Memory == 0 || r.Pids == 0 || len(r.Seccomp.Allow) == 0 {
				t.Errorf("shipped profile without limits or filter")
			}
		})
	}
}

func TestSiteOverridesShipped(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"build.yaml": "description: site build\nextends: default\nresources:\n  memory: 3g\n",
	})
	f := siteFinder(dir)
	r, err := f.Load("build")
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "build.yaml")
	if r.Source != site {
		t.Errorf("source = %q, want %q", r.Source, site)
	}
	if want := []string{"embedded:default", site}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	if r.Description != "site build" || r.Memory != 3<<30 {
		t.Errorf("description %q memory %d", r.Description, r.Memory)
	}
	// The site file replaces the shipped one completely: build's workdir is gone.
	if r.Workdir != "/" {
		t.Errorf("workdir = %q, want / (shipped build.yaml must not be in the chain)", r.Workdir)
	}
	// embedded:build bypasses the site file.
	r, err = f.Load("embedded:build")
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != "embedded:build" || r.Memory != 2<<30 {
		t.Errorf("embedded:build source %q memory %d", r.Source, r.Memory)
	}
}

func TestSiteDirsOrder(t *testing.T) {
	first := writeProfiles(t, map[string]string{"x.yaml": "description: first\n"})
	second := writeProfiles(t, map[string]string{"x.yaml": "description: second\n", "y.yaml": "description: y\n"})
	f := siteFinder(first, second)
	r, err := f.Load("x")
	if err != nil {
		t.Fatal(err)
	}
	if r.Description != "first" || r.Source != filepath.Join(first, "x.yaml") {
		t.Errorf("x from %q (%q), want the first dir", r.Source, r.Description)
	}
	r, err = f.Load("y")
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != filepath.Join(second, "y.yaml") {
		t.Errorf("y source = %q", r.Source)
	}
}

func TestImplicitExtendsDefault(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"mine.yaml": "description: mine\ncommand: [/bin/true]\nhostname: mine\n",
	})
	r, err := siteFinder(dir).Load("mine")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"embedded:default", filepath.Join(dir, "mine.yaml")}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	if !reflect.DeepEqual(r.Seccomp.Allow, sortedDefaultAllow()) {
		t.Errorf("seccomp allowlist not inherited from default (%d names)", len(r.Seccomp.Allow))
	}
	if r.Memory != 512<<20 || r.Pids != 256 || r.Rlimits["nofile"] != (Rlimit{1024, 1024}) {
		t.Errorf("limits not inherited: memory %d pids %d rlimits %v", r.Memory, r.Pids, r.Rlimits)
	}
	if r.Hostname != "mine" || !reflect.DeepEqual(r.Command, []string{"/bin/true"}) {
		t.Errorf("hostname %q command %q", r.Hostname, r.Command)
	}
}

func TestSiteDefaultBuildsOnEmbedded(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"default.yaml": "hostname: site\nresources:\n  pids: 100\n",
		"mine.yaml":    "description: mine\n",
	})
	f := siteFinder(dir)
	r, err := f.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "default.yaml")
	if want := []string{"embedded:default", site}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	if r.Hostname != "site" || r.Pids != 100 || r.Memory != 512<<20 {
		t.Errorf("hostname %q pids %d memory %d", r.Hostname, r.Pids, r.Memory)
	}
	// Other profiles without extends build on the site default.
	r, err = f.Load("mine")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"embedded:default", site, filepath.Join(dir, "mine.yaml")}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	if r.Hostname != "site" || r.Pids != 100 {
		t.Errorf("site default not inherited: hostname %q pids %d", r.Hostname, r.Pids)
	}
	// A shipped profile naming "extends: default" also picks up the site default.
	r, err = f.Load("build")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"embedded:default", site, "embedded:build"}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("build chain = %q, want %q", r.Chain, want)
	}
}

func TestExtendsNone(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"bare.yaml":     "description: bare\nextends: none\n",
		"full.yaml":     "extends: none\nseccomp:\n  allow: [read, write, exit_group]\nresources:\n  memory: 64m\n  pids: 8\n",
		"nolimits.yaml": "extends: none\nunsafe:\n  disable-seccomp: true\n  disable-resource-limits: true\n",
	})
	f := siteFinder(dir)

	_, err := f.Load("bare")
	errs := fieldErrors(t, err)
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3 (seccomp, memory, pids):\n%v", len(errs), err)
	}
	for _, w := range []struct{ path, msg string }{
		{"seccomp.allow", "the allowlist is empty: extend \"default\" (or list syscalls); to run without a filter set unsafe.disable-seccomp: true"},
		{"resources.memory", "no memory limit: set one (e.g. \"512m\"), or set unsafe.disable-resource-limits: true"},
		{"resources.pids", "no pids limit: set one (e.g. 256), or set unsafe.disable-resource-limits: true"},
	} {
		e := findFieldError(errs, w.path)
		if e == nil {
			t.Errorf("no error for %s in:\n%v", w.path, err)
			continue
		}
		if e.Msg != w.msg {
			t.Errorf("%s: %q, want %q", w.path, e.Msg, w.msg)
		}
		// Nothing in the file set the field: the error names the profile.
		if e.File != `profile "bare"` || e.Line != 0 {
			t.Errorf("%s located at %s:%d, want profile \"bare\" without a line", w.path, e.File, e.Line)
		}
	}

	r, err := f.Load("full")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "full.yaml")}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q", r.Chain)
	}
	if !reflect.DeepEqual(r.Seccomp.Allow, []string{"exit_group", "read", "write"}) {
		t.Errorf("allow = %v", r.Seccomp.Allow)
	}
	// Built-in strict defaults fill in the rest.
	if r.User != (User{UID: 65534, GID: 65534}) || r.Network != NetworkNone || r.Workdir != "/" ||
		r.Hostname != "safe-run" || r.Rootfs != RootfsHost || r.Seccomp.DenyErrno != 1 || len(r.Capabilities) != 0 {
		t.Errorf("defaults: %+v", r)
	}

	r, err = f.Load("nolimits")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seccomp.Allow) != 0 || r.Memory != 0 || r.Pids != 0 {
		t.Errorf("nolimits = %+v", r)
	}
}

func TestExtendsCycle(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"a.yaml": "extends: b\n",
		"b.yaml": "extends: a\n",
		"c.yaml": "extends: c\n",
	})
	f := siteFinder(dir)
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	_, err := f.Load("a")
	wantContains(t, err, `profile "a": extends cycle: `+a+" -> "+b+" -> "+a, `"embedded:a"`)

	_, err = f.Load("c")
	c := filepath.Join(dir, "c.yaml")
	wantContains(t, err, "extends cycle: "+c+" -> "+c)

	// A site default that extends "default" finds itself; the message
	// points at embedded:default.
	dir2 := writeProfiles(t, map[string]string{"default.yaml": "extends: default\n"})
	_, err = siteFinder(dir2).Load("default")
	wantContains(t, err, "extends cycle", filepath.Join(dir2, "default.yaml"), `can extend "embedded:default"`)
	// ... and extending embedded:default fixes it.
	dir3 := writeProfiles(t, map[string]string{"default.yaml": "extends: embedded:default\nhostname: ok\n"})
	r, err := siteFinder(dir3).Load("default")
	if err != nil {
		t.Fatal(err)
	}
	if r.Hostname != "ok" || len(r.Chain) != 2 {
		t.Errorf("hostname %q chain %q", r.Hostname, r.Chain)
	}
}

func TestExtendsDepth(t *testing.T) {
	chainFiles := func(n int) map[string]string {
		files := map[string]string{}
		for i := 1; i <= n; i++ {
			ext := fmt.Sprintf("p%d", i+1)
			if i == n {
				ext = "default"
			}
			files[fmt.Sprintf("p%d.yaml", i)] = "extends: " + ext + "\n"
		}
		return files
	}
	// 15 site files plus the shipped default: 16 profiles, the limit.
	r, err := siteFinder(writeProfiles(t, chainFiles(15))).Load("p1")
	if err != nil {
		t.Fatalf("16 profiles: %v", err)
	}
	if len(r.Chain) != 16 || r.Chain[0] != "embedded:default" {
		t.Errorf("chain has %d links: %q", len(r.Chain), r.Chain)
	}
	// 16 site files plus default: 17, one too many.
	_, err = siteFinder(writeProfiles(t, chainFiles(16))).Load("p1")
	wantContains(t, err, `profile "p1": extends chain is deeper than 16 profiles`)

	// 17 chained site files ending in extends: none.
	files := chainFiles(17)
	files["p17.yaml"] = "extends: none\n"
	_, err = siteFinder(writeProfiles(t, files)).Load("p1")
	wantContains(t, err, "deeper than 16")
}

func TestNotFound(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"webserver.yaml": "description: w\n",
		"a.yaml":         "extends: nope\n",
		"b.yaml":         "extends: webservr\n",
	})
	f := siteFinder(dir)
	tests := []struct {
		ref  string
		want []string
	}{
		{"buidl", []string{`profile "buidl" not found (did you mean "build"?)`, "searched " + dir, "the shipped profiles"}},
		{"defualt", []string{`(did you mean "default"?)`}},
		{"webservr", []string{`(did you mean "webserver"?)`}},
		{"zzzzzzzzzzzzz", []string{`profile "zzzzzzzzzzzzz" not found; searched`}},
		{"embedded:webserver", []string{`profile "webserver" not found`}},
		{"a", []string{filepath.Join(dir, "a.yaml") + `: extends: profile "nope" not found`}},
		{"b", []string{filepath.Join(dir, "b.yaml") + `: extends: profile "webservr" not found (did you mean "webserver"?)`}},
		{"Build", []string{`invalid profile name "Build"`}},
		{"my profile", []string{`invalid profile name "my profile"`}},
		{"embedded:", []string{`invalid profile name "embedded:"`}},
		{filepath.Join(dir, "missing.yaml"), []string{"profile file " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"}},
	}
	for _, tt := range tests {
		_, err := f.Load(tt.ref)
		wantContains(t, err, tt.want...)
	}
}

func TestExplicitPath(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"x.yaml":          "description: x\nhostname: xhost\n",
		"sub/child.yaml":  "extends: ./base.yaml\nhostname: child\n",
		"sub/base.yaml":   "extends: ../top.yml\nresources:\n  pids: 7\n",
		"top.yml":         "extends: default\ndescription: top\n",
		"sub/byname.yaml": "extends: base.yaml\n",
	})
	t.Chdir(dir)
	r, err := siteFinder().Load("./x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "x" || r.Source != "./x.yaml" || r.Hostname != "xhost" {
		t.Errorf("name %q source %q hostname %q", r.Name, r.Source, r.Hostname)
	}
	if want := []string{"embedded:default", "./x.yaml"}; !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	// "x.yaml" without a slash is still a path.
	if r, err := siteFinder().Load("x.yaml"); err != nil || r.Source != "x.yaml" {
		t.Errorf("Load(x.yaml) = %v, %v", r, err)
	}

	// Relative extends resolve against the extending file, not the cwd.
	t.Chdir(t.TempDir())
	child := filepath.Join(dir, "sub", "child.yaml")
	r, err = siteFinder().Load(child)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"embedded:default", filepath.Join(dir, "top.yml"), filepath.Join(dir, "sub", "base.yaml"), child}
	if !reflect.DeepEqual(r.Chain, want) {
		t.Errorf("chain = %q, want %q", r.Chain, want)
	}
	if r.Name != "child" || r.Hostname != "child" || r.Pids != 7 || r.Description != "top" {
		t.Errorf("name %q hostname %q pids %d description %q", r.Name, r.Hostname, r.Pids, r.Description)
	}
	r, err = siteFinder().Load(filepath.Join(dir, "sub", "byname.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Chain[len(r.Chain)-2] != filepath.Join(dir, "sub", "base.yaml") {
		t.Errorf("extends: base.yaml resolved to %q", r.Chain[len(r.Chain)-2])
	}
}

func TestChainDecodeErrorNamesFile(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"child.yaml":  "extends: parent\n",
		"parent.yaml": "description: p\nresources:\n  memroy: 1g\n",
	})
	_, err := siteFinder(dir).Load("child")
	wantContains(t, err, filepath.Join(dir, "parent.yaml")+`:3:3: resources.memroy: unknown field (did you mean "memory"?)`)
}

func TestList(t *testing.T) {
	dir1 := writeProfiles(t, map[string]string{
		"build.yaml":    "description: site build\n",
		"zeta.yaml":     "description: z\n",
		"Bad Name.yaml": "description: ignored\n",
		"broken.yaml":   "description: [\n",
	})
	dir2 := writeProfiles(t, map[string]string{"zeta.yaml": "description: z2\n"})
	entries, err := siteFinder(dir1, dir2).List()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	var names []string
	for _, e := range entries {
		byName[e.Name] = e
		names = append(names, e.Name)
	}
	if want := []string{"broken", "build", "default", "shell", "zeta"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	if e := byName["build"]; e.Path != filepath.Join(dir1, "build.yaml") || e.Description != "site build" ||
		!reflect.DeepEqual(e.Shadows, []string{"embedded:build"}) {
		t.Errorf("build = %+v", e)
	}
	if e := byName["zeta"]; e.Description != "z" || !reflect.DeepEqual(e.Shadows, []string{filepath.Join(dir2, "zeta.yaml")}) {
		t.Errorf("zeta = %+v", e)
	}
	if e := byName["default"]; e.Path != "embedded:default" || !strings.HasPrefix(e.Description, "Strict base") || e.Shadows != nil {
		t.Errorf("default = %+v", e)
	}
	if e := byName["broken"]; e.Description != "" {
		t.Errorf("broken = %+v", e)
	}
}

func TestSearchDirs(t *testing.T) {
	got := SearchDirs([]string{"/flag1", "/flag2"}, "/env1::/env2", "/home/u/.config")
	want := []string{"/flag1", "/flag2", "/env1", "/env2", "/home/u/.config/safe-run/profiles", "/etc/safe-run/profiles"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SearchDirs = %q, want %q", got, want)
	}
	if got := SearchDirs(nil, "", ""); !reflect.DeepEqual(got, []string{"/etc/safe-run/profiles"}) {
		t.Errorf("SearchDirs(empty) = %q", got)
	}
}

func TestIsPath(t *testing.T) {
	for ref, want := range map[string]bool{
		"default": false, "my-profile": false, "embedded:default": false,
		"./x": true, "/etc/x": true, "x.yaml": true, "x.yml": true, "a/b": true,
	} {
		if got := IsPath(ref); got != want {
			t.Errorf("IsPath(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestFindUnreadableDir(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads everything")
	}
	dir := writeProfiles(t, map[string]string{"x.yaml": "description: x\n"})
	if err := os.Chmod(filepath.Join(dir, "x.yaml"), 0); err != nil {
		t.Fatal(err)
	}
	_, _, err := siteFinder(dir).Find("x")
	wantContains(t, err, `profile "x": `, "permission denied")
}
