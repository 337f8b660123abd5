package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSpec checks the config.json that `safe-run spec` prints.
func TestSpec(t *testing.T) {
	t.Run("default_is_hardened", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("spec", "default")
		wantCode(t, r, 0)
		var s specs.Spec
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("spec is not a runtime-spec Spec: %v\n%s", err, r.stdout)
		}
		if s.Process == nil || !s.Process.NoNewPrivileges {
			t.Error("process.noNewPrivileges is not true")
		}
		if s.Process != nil && s.Process.Capabilities != nil {
			c := s.Process.Capabilities
			if len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) != 0 {
				t.Errorf("capabilities granted: %+v", c)
			}
		}
		if s.Root == nil || !s.Root.Readonly {
			t.Error("root.readonly is not true")
		}
		if s.Linux == nil || s.Linux.Seccomp == nil {
			t.Fatal("linux.seccomp is missing")
		}
		if s.Linux.Seccomp.DefaultAction != specs.ActErrno {
			t.Errorf("seccomp defaultAction = %q, want %q", s.Linux.Seccomp.DefaultAction, specs.ActErrno)
		}
		if len(s.Linux.Seccomp.Syscalls) == 0 {
			t.Error("seccomp allows no syscalls")
		}
	})

	t.Run("output_is_byte_identical_across_runs", func(t *testing.T) {
		e := newEnv(t, rootful)
		first, second := e.run("spec", "default"), e.run("spec", "default")
		wantCode(t, first, 0)
		wantCode(t, second, 0)
		if first.stdout != second.stdout {
			t.Errorf("two runs of `safe-run spec default` differ:\n%s\n---\n%s", first.stdout, second.stdout)
		}
	})
}

// TestProfileShow checks which file a profile comes from, and that a
// profile directory overrides the shipped profile.
func TestProfileShow(t *testing.T) {
	t.Run("default_is_embedded", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("profile", "show", "default")
		wantCode(t, r, 0)
		if got := showField(r.stdout, "source"); got != "embedded:default" {
			t.Errorf("source = %q, want embedded:default:\n%s", got, r.stdout)
		}
	})

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "default.yaml"), "resources: {memory: 256m}\n")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("profile_dir_default_yaml_wins", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("--profile-dir", dir, "profile", "show", "default")
		wantCode(t, r, 0)
		if got, want := showField(r.stdout, "source"), filepath.Join(dir, "default.yaml"); got != want {
			t.Errorf("source = %q, want %q:\n%s", got, want, r.stdout)
		}
		if got := showField(r.stdout, "memory"); got != "256m" {
			t.Errorf("memory = %q, want 256m:\n%s", got, r.stdout)
		}
	})

	t.Run("profile_dir_memory_limit_in_force", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("--profile-dir", dir, "default", "--", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
		wantCode(t, r, 0)
		if got := strings.TrimSpace(r.stdout); got != "268435456" {
			t.Errorf("memory.limit_in_bytes = %q, want 268435456", got)
		}
	})
}

// showField returns the value of key in `safe-run profile show` output.
func showField(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, key+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
