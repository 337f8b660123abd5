package tests

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// psLine returns ps's line for container id ("" if it is not listed).
func psLine(out, id string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == id {
			return l
		}
	}
	return ""
}

// stateEmpty reports whether bundles/ and runc/ of the state root are empty.
func (e *env) stateEmpty() bool {
	for _, sub := range []string{"bundles", "runc"} {
		entries, _ := os.ReadDir(filepath.Join(e.state, sub))
		if len(entries) > 0 {
			return false
		}
	}
	return true
}

// ownerPid is the pid in container id's owner file (its supervisor).
func (e *env) ownerPid(id string) int {
	e.t.Helper()
	var pid int
	poll(e.t, "the supervisor of "+id+" to record itself", func() bool {
		data, err := os.ReadFile(filepath.Join(e.state, "bundles", id, "owner"))
		if err != nil {
			return false
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			return false
		}
		pid, err = strconv.Atoi(f[0])
		return err == nil
	})
	return pid
}

// TestDetachLifecycle: run -d prints the id, ps shows it Up, logs shows
// its output, exec runs under the container's own restrictions, stop ends
// it with the program's status (143), rm removes everything.
func TestDetachLifecycle(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			r := e.run("run", "-d", "--name", "web", "--", "sh", "-c", "echo started; id -u; sleep 300")
			wantCode(t, r, 0)
			t.Cleanup(func() { e.run("rm", "-f", "web") })
			if got := strings.TrimSpace(r.stdout); got != "web" {
				t.Fatalf("run -d printed %q, want the id web\n%s", got, r)
			}
			ps := e.run("ps")
			wantCode(t, ps, 0)
			if l := psLine(ps.stdout, "web"); !strings.Contains(l, "Up") {
				t.Errorf("ps does not show web Up:\n%s", ps.stdout)
			}
			var logs result
			poll(t, "the log to hold the program's output", func() bool {
				logs = e.run("logs", "web")
				return logs.code == 0 && len(strings.Split(strings.TrimSpace(logs.stdout), "\n")) >= 2
			})
			lines := strings.Split(strings.TrimSpace(logs.stdout), "\n")
			if lines[0] != "started" {
				t.Errorf("logs = %q, want started first", logs.stdout)
			}
			containerUID := strings.TrimSpace(lines[1])

			st := e.run("exec", "web", "cat", "/proc/self/status")
			wantCode(t, st, 0)
			for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
				wantContains(t, "exec'd /proc/self/status", st.stdout, want)
			}
			uid := e.run("exec", "web", "id", "-u")
			wantCode(t, uid, 0)
			if got := strings.TrimSpace(uid.stdout); got != containerUID {
				t.Errorf("exec id -u = %q, want the container's user %q", got, containerUID)
			}
			wantCode(t, e.run("exec", "web", "sh", "-c", "exit 7"), 7)
			// docker's codes for a command that is missing or not executable
			wantCode(t, e.run("exec", "web", "no-such-command"), 127)
			wantCode(t, e.run("exec", "web", "/etc/passwd"), 126)
			wantCode(t, e.run("exec", "--privileged", "web", "id"), 125)
			wantCode(t, e.run("exec", "--cap-add", "NET_RAW", "web", "id"), 125)
			wantCode(t, e.run("rm", "web"), 125) // running: needs -f

			stop := e.run("stop", "web")
			wantCode(t, stop, 0)
			all := e.run("ps", "-a")
			if l := psLine(all.stdout, "web"); !strings.Contains(l, "Exited (143)") {
				t.Errorf("ps -a after stop does not show web Exited (143):\n%s", all.stdout)
			}
			if l := psLine(e.run("ps").stdout, "web"); l != "" {
				t.Errorf("ps (no -a) lists the stopped container: %s", l)
			}
			inspect := e.run("inspect", "web")
			wantCode(t, inspect, 0)
			for _, want := range []string{`"exitCode": 143`, `"state": "exited"`, `"nnp=1"`, `"seccomp=2"`} {
				wantContains(t, "inspect", inspect.stdout, want)
			}
			// Exited without --rm: gc leaves it for rm.
			wantCode(t, e.run("gc"), 0)
			if l := psLine(e.run("ps", "-a").stdout, "web"); l == "" {
				t.Errorf("gc removed an exited detached container that waits for rm")
			}
			wantCode(t, e.run("rm", "web"), 0)
			if l := psLine(e.run("ps", "-a").stdout, "web"); l != "" {
				t.Errorf("ps -a still lists web after rm: %s", l)
			}
			e.assertStateEmpty()
		})
	}
}

// TestDetachRm: with --rm, a detached container removes itself on exit.
func TestDetachRm(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			r := e.run("run", "-d", "--rm", "--", "sh", "-c", "exit 3")
			wantCode(t, r, 0)
			if !strings.HasPrefix(strings.TrimSpace(r.stdout), "safe-run-") {
				t.Errorf("run -d printed %q, want a safe-run-... id", r.stdout)
			}
			poll(t, "the --rm container to remove itself", e.stateEmpty)
			if out := e.run("ps", "-a", "-q").stdout; strings.TrimSpace(out) != "" {
				t.Errorf("ps -a still lists %q", out)
			}
		})
	}
}

// TestDetachKillAndFollow: kill -s KILL ends the container (137); logs -f
// prints everything and ends when the container exits.
func TestDetachKillAndFollow(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			wantCode(t, e.run("run", "-d", "--name", "k", "--", "sleep", "300"), 0)
			t.Cleanup(func() { e.run("rm", "-f", "k") })
			wantCode(t, e.run("kill", "-s", "KILL", "k"), 0)
			poll(t, "k to exit", func() bool {
				return strings.Contains(psLine(e.run("ps", "-a").stdout, "k"), "Exited (137)")
			})
			wantCode(t, e.run("kill", "k"), 125) // not running
			wantCode(t, e.run("rm", "k"), 0)

			wantCode(t, e.run("run", "-d", "--name", "f", "--", "sh", "-c", "echo one; sleep 1; echo two"), 0)
			t.Cleanup(func() { e.run("rm", "-f", "f") })
			follow := e.run("logs", "-f", "f") // bounded by the hang guard
			wantCode(t, follow, 0)
			if got := strings.TrimSpace(follow.stdout); got != "one\ntwo" {
				t.Errorf("logs -f = %q, want one, two", got)
			}
			wantCode(t, e.run("rm", "f"), 0)
			e.assertStateEmpty()
		})
	}
}

// TestDetachSurvivesLauncher: the launching safe-run exits while the
// container keeps running, owned by a supervisor in a session of its own:
// killing the launcher's whole process group does not touch it.
func TestDetachSurvivesLauncher(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			cmd := e.command(ctx, nil, "run", "-d", "--name", "bg", "--", "sleep", "300")
			out, err := cmd.Output()
			if err != nil || strings.TrimSpace(string(out)) != "bg" {
				t.Fatalf("run -d: %v, %q", err, out)
			}
			t.Cleanup(func() { e.run("rm", "-f", "bg") })
			launcher := cmd.Process.Pid
			_ = syscall.Kill(-launcher, syscall.SIGKILL) // whatever is left of the launching group
			owner := e.ownerPid("bg")
			if owner == launcher {
				t.Fatalf("the owner is the launching process")
			}
			if sid, _ := unix.Getsid(owner); sid != owner {
				t.Errorf("the supervisor (pid %d) is not a session leader (sid %d)", owner, sid)
			}
			if l := psLine(e.run("ps").stdout, "bg"); !strings.Contains(l, "Up") {
				t.Errorf("the container does not run after its launcher exited: %q", l)
			}
			wantCode(t, e.run("exec", "bg", "true"), 0)
			wantCode(t, e.run("rm", "-f", "bg"), 0)
			e.assertStateEmpty()
		})
	}
}

// TestDetachGCAfterSupervisorKilled: a supervisor killed with SIGKILL
// leaves a dead container that gc removes (container, bundle, runc state).
func TestDetachGCAfterSupervisorKilled(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			wantCode(t, e.run("run", "-d", "--name", "g", "--", "sleep", "300"), 0)
			owner := e.ownerPid("g")
			if err := syscall.Kill(owner, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			poll(t, "ps to show the container dead", func() bool {
				return strings.Contains(psLine(e.run("ps", "-a").stdout, "g"), "Dead")
			})
			gc := e.run("gc")
			wantCode(t, gc, 0)
			wantContains(t, "gc", gc.stdout, "removed g")
			poll(t, "the state root to be empty", e.stateEmpty)
		})
	}
}

// TestDetachRefusals: what a detached container cannot have.
func TestDetachRefusals(t *testing.T) {
	e := newEnv(t, rootful)
	wantCode(t, e.run("run", "-d", "--explain", "--", "true"), 125)
	wantCode(t, e.run("rm", "no-such-container"), 125)
	wantCode(t, e.run("logs", "no-such-container"), 125)
	// A control the init cannot verify: the start fails with 125 and the
	// log's tail, and nothing is left.
	r := e.runWith([]string{"SAFE_RUN_TEST_DROP_CONTROL=nnp"}, "run", "-d", "--name", "bad", "--", "sleep", "300")
	wantCode(t, r, 125)
	wantContains(t, "stderr", r.stderr, "did not start")
	e.assertStateEmpty()
}

// TestDetachImage: run -d IMAGE runs the image's container detached; the
// supervisor holds the image tree, exec works in it, rm -f removes it.
func TestDetachImage(t *testing.T) {
	requireE2E(t)
	img := busyboxImage(t)
	const ref = "registry.example/test/busybox:1"
	_, archive := imageArchive(t, img, ref, "safe-run-e2e-detach-")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			vars := []string{"SAFE_RUN_DATA_DIR=" + dataDir(t, e)}
			wantCode(t, e.runWith(vars, "load", archive), 0)
			r := e.runWith(vars, "run", "-d", "--name", "img", ref, "sh", "-c", "echo up; sleep 300")
			wantCode(t, r, 0)
			t.Cleanup(func() { e.run("rm", "-f", "img") })
			if l := psLine(e.run("ps").stdout, "img"); !strings.Contains(l, ref) || !strings.Contains(l, "Up") {
				t.Errorf("ps does not show img Up from %s: %q", ref, l)
			}
			// The supervisor holds the image tree (a shared lock on fd 3).
			store := strings.TrimPrefix(vars[0], "SAFE_RUN_DATA_DIR=")
			if link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(e.ownerPid("img")), "fd", "3")); err != nil || !strings.HasPrefix(link, store) {
				t.Errorf("the supervisor's fd 3 is %q (%v), want the image tree under %s", link, err, store)
			}
			st := e.run("exec", "img", "cat", "/proc/self/status")
			wantCode(t, st, 0)
			wantContains(t, "exec'd /proc/self/status", st.stdout, "NoNewPrivs:\t1")
			wantCode(t, e.run("rm", "-f", "img"), 0)
			e.assertStateEmpty()
		})
	}
}
