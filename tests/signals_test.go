package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSignalToSafeRun: a SIGTERM or SIGINT sent to safe-run reaches the
// program, safe-run exits with the program's status, and nothing is left:
// no bundle, no runc state, no cgroup.
func TestSignalToSafeRun(t *testing.T) {
	signals := []struct {
		name string
		sig  syscall.Signal
		code int
	}{{"SIGTERM", syscall.SIGTERM, 143}, {"SIGINT", syscall.SIGINT, 130}}
	for _, m := range modes {
		for _, s := range signals {
			t.Run(m.name+"/"+s.name+"_exits_with_program_status_and_cleans_up", func(t *testing.T) {
				e := newEnv(t, m)
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				cmd := e.command(ctx, nil, "default", "--", "sleep", "300")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				id := e.waitForProgram("sleep")
				if err := syscall.Kill(e.safeRunPid(cmd), s.sig); err != nil {
					t.Fatal(err)
				}
				err := cmd.Wait()
				if ctx.Err() != nil {
					t.Fatalf("hang guard: safe-run did not exit after %v", s.sig)
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != s.code {
					t.Fatalf("safe-run after %v: %v, want exit %d\nstderr: %s", s.sig, err, s.code, stderr.String())
				}
				e.assertStateEmpty()
				if !m.rootless {
					for _, ctl := range []string{"pids", "memory", "cpu"} {
						cg := filepath.Join("/sys/fs/cgroup", ctl, "safe-run", id)
						if _, err := os.Stat(cg); !os.IsNotExist(err) {
							t.Errorf("cgroup %s still exists after the run (stat: %v)", cg, err)
						}
					}
				}
			})
		}
	}
}

// TestSignalDuringStartup sends SIGTERM to safe-run the moment a startup
// stage becomes visible in the state root: the bundle directory (safe-run
// is still writing the bundle) and the runc state directory (runc is
// creating the container; safe-run-init has not started the program yet).
// Wherever the signal lands, safe-run must end as terminated by SIGTERM
// (exit 143, or killed by SIGTERM itself before a container exists) and
// leave nothing behind. Several attempts widen the chance of hitting each
// window; the first wrong outcome fails the test.
func TestSignalDuringStartup(t *testing.T) {
	const attempts = 25
	for _, stage := range []string{"bundles", "runc"} {
		t.Run("SIGTERM_when_"+stage+"_entry_appears_gives_143_and_no_state", func(t *testing.T) {
			for i := 1; i <= attempts; i++ {
				e := newEnv(t, rootful)
				code, stderr := signalAtStage(t, e, stage, syscall.SIGTERM)
				if code != 143 {
					t.Errorf("attempt %d: safe-run exited %d after SIGTERM during startup, want 143\nstderr: %s", i, code, stderr)
				}
				e.assertStateEmpty()
				if t.Failed() {
					return
				}
			}
		})
	}
}

// signalAtStage starts `safe-run default -- sleep 300`, sends sig as soon
// as STATE/stage has an entry, and returns safe-run's exit status (128+N
// when it was itself killed by signal N) and its stderr.
func signalAtStage(t *testing.T, e *env, stage string, sig syscall.Signal) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := e.command(ctx, nil, "default", "--", "sleep", "300")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.state, stage)
	for ctx.Err() == nil { // spin: the windows are short
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			break
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("hang guard: safe-run did not exit after %v", sig)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case !errors.As(err, &ee):
		t.Fatal(err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), stderr.String()
	}
	return ee.ExitCode(), stderr.String()
}
