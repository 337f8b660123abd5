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
