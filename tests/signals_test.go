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

// TestSignalDuringStartupLeavesNoState sends SIGTERM to safe-run the
// moment its bundle directory appears, i.e. while the bundle is being
// written and before runc runs. Whenever the signal lands, safe-run must
// not leave the bundle behind. Several attempts widen the chance of
// hitting the window.
func TestSignalDuringStartupLeavesNoState(t *testing.T) {
	const attempts = 10
	for i := 0; i < attempts; i++ {
		e := newEnv(t, rootful)
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		cmd := e.command(ctx, nil, "default", "--", "sleep", "300")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		bundles := filepath.Join(e.state, "bundles")
		for {
			if entries, _ := os.ReadDir(bundles); len(entries) > 0 || ctx.Err() != nil {
				break
			}
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		err := cmd.Wait()
		cancel()
		if ctx.Err() == context.DeadlineExceeded {
			t.Fatal("hang guard: safe-run did not exit after SIGTERM")
		}
		entries, _ := os.ReadDir(bundles)
		if len(entries) > 0 {
			t.Fatalf("attempt %d: SIGTERM during startup (safe-run: %v) left %s/%s behind\nstderr: %s",
				i+1, err, bundles, entries[0].Name(), stderr.String())
		}
	}
}
