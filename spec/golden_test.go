package spec_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden config.json files in testdata/")

// goldenFacts are fixed host facts, so goldens do not depend on the
// machine the test runs on.
func goldenFacts(rootless bool) *host.Facts {
	f := &host.Facts{
		UID: 0, GID: 0, UserName: "root", Home: "/root", Cwd: "/src/project",
		Cgroup:     host.Cgroup{Mode: "hybrid", Usable: map[string]bool{"memory": true, "cpu": true, "pids": true}},
		UsrMerge:   map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"},
		EtcEntries: []string{"alternatives", "ld.so.cache", "localtime", "nsswitch.conf"},
		HardLimits: map[string]uint64{"nofile": 20000, "core": ^uint64(0)},
		InitPath:   "/usr/libexec/safe-run/safe-run-init",
	}
	if rootless {
		f.UID, f.GID, f.UserName, f.Home, f.Rootless = 1000, 1000, "alice", "/home/alice", true
		f.SubUIDs, f.SubGIDs, f.HaveIDMaps = []host.IDRange{{Start: 100000, Count: 65536}}, []host.IDRange{{Start: 100000, Count: 65536}}, true
		f.Cgroup = host.Cgroup{Mode: "hybrid", Usable: map[string]bool{}, Why: "no delegation"}
	}
	return f
}

// generate returns config.json for a shipped profile as `safe-run spec` prints it.
func generate(t *testing.T, name string, rootless bool) []byte {
	t.Helper()
	r, err := (&profile.Finder{Embedded: profiles.FS}).Load(name)
	if err != nil {
		t.Fatal(err)
	}
	f := goldenFacts(rootless)
	sources := map[string]bool{}
	for _, s := range plan.BindSources(r, f) {
		sources[s] = true
	}
	p, err := plan.Build(r, f, plan.Request{ID: "golden", BindSources: sources})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(p.Spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

func shippedProfiles(t *testing.T) []string {
	matches, err := fs.Glob(profiles.FS, "*.yaml")
	if err != nil || len(matches) == 0 {
		t.Fatalf("no shipped profiles: %v", err)
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(m, ".yaml"))
	}
	return names
}

// TestGolden compares every shipped profile's config.json (rootful and
// rootless) with testdata/; run `go test ./spec -update` after an
// intended change and review the diff.
func TestGolden(t *testing.T) {
	for _, name := range shippedProfiles(t) {
		for _, rootless := range []bool{false, true} {
			file := name + ".json"
			if rootless {
				file = name + ".rootless.json"
			}
			t.Run(file, func(t *testing.T) {
				got := generate(t, name, rootless)
				if again := generate(t, name, rootless); !bytes.Equal(got, again) {
					t.Fatal("two generations from the same inputs differ")
				}
				path := filepath.Join("testdata", file)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./spec -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the generated spec; if the change is intended run go test ./spec -update and review the diff", path)
				}
			})
		}
	}
}

// TestGoldenSchema validates every golden against runtime-spec's JSON
// schema, read from the module cache (no network).
func TestGoldenSchema(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/opencontainers/runtime-spec").Output()
	if err != nil {
		t.Fatalf("locating runtime-spec in the module cache: %v", err)
	}
	schemaPath := fixedSchemaCopy(t, filepath.Join(strings.TrimSpace(string(out)), "schema"))
	// The schema files are draft-04; some omit $schema, so say it here.
	compiler := jsonschema.NewCompiler()
	compiler.Draft = jsonschema.Draft4
	schema, err := compiler.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compiling %s: %v", schemaPath, err)
	}
	// The validator must be able to fail: a spec with a wrong type is refused.
	if err := schema.Validate(map[string]any{"ociVersion": 5}); err == nil {
		t.Fatal("schema accepted an ociVersion that is not a string")
	}
	goldens, _ := filepath.Glob("testdata/*.json")
	if len(goldens) < 2*len(shippedProfiles(t)) {
		t.Fatalf("expected a rootful and a rootless golden per shipped profile, found %d files", len(goldens))
	}
	for _, g := range goldens {
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s does not match the runtime-spec schema: %v", g, err)
		}
	}
}

// fixedSchemaCopy copies runtime-spec's schema files into a temp dir,
// rewriting the few "#definitions/x" references (not valid JSON pointers)
// to "#/definitions/x", which strict validators require.
func fixedSchemaCopy(t *testing.T, dir string) string {
	tmp := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no schema files in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte(`#definitions/`), []byte(`#/definitions/`))
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, "config-schema.json")
}
