package tests

import (
	"strings"
	"testing"
)

// TestLimitsRootful proves the cgroup limits are in force as root.
func TestLimitsRootful(t *testing.T) {
	t.Run("fork_bomb_stops_at_pids_limit", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("run", "--pids-limit", "20", "--", "sh", "-c",
			`i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done`)
		if r.code == 0 {
			t.Fatalf("100 processes started under --pids-limit 20: %s", r)
		}
		if !strings.Contains(r.stderr, "Cannot fork") && !strings.Contains(r.stderr, "Resource temporarily unavailable") {
			t.Errorf("stderr names no fork failure: %s", r)
		}
	})

	t.Run("memory_hog_is_oom_killed_137", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("run", "--memory", "32m", "--", "sh", "-c",
			`x=$(head -c 200000000 /dev/zero | tr "\0" a)`)
		wantCode(t, r, 137)
		wantContains(t, "stderr", r.stderr, "OOM killer")
	})

	t.Run("memory_limit_visible_in_cgroup", func(t *testing.T) {
		e := newEnv(t, rootful)
		r := e.run("run", "--memory", "32m", "--", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
		wantCode(t, r, 0)
		if got := strings.TrimSpace(r.stdout); got != "33554432" {
			t.Errorf("memory.limit_in_bytes = %q, want 33554432", got)
		}
	})
}

// TestLimitsRootlessWarnNotInForce: rootless runc cannot apply cgroup
// limits on this host, and safe-run must say so instead of pretending.
func TestLimitsRootlessWarnNotInForce(t *testing.T) {
	e := newEnv(t, rootless)
	r := e.run("run", "--pids-limit", "20", "--memory", "32m", "--", "true")
	wantCode(t, r, 0)
	for _, field := range []string{"resources.pids 20", "resources.memory 32m"} {
		wantContains(t, "stderr", r.stderr, field+" is NOT in force")
	}
}
