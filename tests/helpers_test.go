package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangGuard bounds every safe-run invocation. It only stops a hung test;
// no assertion depends on timing.
const hangGuard = 60 * time.Second

// mode is how safe-run is invoked: as root, or as the unprivileged test
// user (rootless).
type mode struct {
	name     string
	rootless bool
}

var (
	rootful  = mode{"rootful", false}
	rootless = mode{"rootless", true}
	modes    = []mode{rootful, rootless}
)

// env is one test's private safe-run environment: its own state root
// (and, rootless, its own XDG_RUNTIME_DIR).
type env struct {
	t     *testing.T
	mode  mode
	state string // the state root safe-run uses
	xdg   string // rootless: XDG_RUNTIME_DIR (state is xdg/safe-run)
	home  string // the caller's home on the host
	// leftovers already reported by assertStateEmpty (reported once)
	leftovers map[string]bool
}

// newEnv makes a private environment whose state root must be empty again
// when the test ends (checked in a cleanup).
func newEnv(t *testing.T, m mode) *env {
	t.Helper()
	requireE2E(t)
	e := &env{t: t, mode: m, leftovers: map[string]bool{}}
	if m.rootless {
		xdg, err := os.MkdirTemp("/tmp", "safe-run-e2e-xdg-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(xdg) })
		if err := os.Chown(xdg, testUser.uid, testUser.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(xdg, 0o700); err != nil {
			t.Fatal(err)
		}
		e.xdg, e.state, e.home = xdg, filepath.Join(xdg, "safe-run"), testUser.home
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		e.state, e.home = filepath.Join(t.TempDir(), "state"), u.HomeDir
	}
	t.Cleanup(e.assertStateEmpty)
	return e
}

// assertStateEmpty fails the test if a bundle or runc state is left in
// the state root.
func (e *env) assertStateEmpty() {
	e.t.Helper()
	for _, sub := range []string{"bundles", "runc"} {
		entries, err := os.ReadDir(filepath.Join(e.state, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			e.t.Errorf("state root: %v", err)
			continue
		}
		for _, ent := range entries {
			p := filepath.Join(sub, ent.Name())
			if e.leftovers[p] {
				continue
			}
			e.leftovers[p] = true
			e.t.Errorf("state root not empty after the test: %s/%s/%s left behind", e.state, sub, ent.Name())
		}
	}
}

// result is one finished safe-run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr
}

// command builds the safe-run invocation for the env's mode. vars are
// extra NAME=VALUE environment variables for safe-run. No shell is
// involved on the host: args go to safe-run as they are.
func (e *env) command(ctx context.Context, vars []string, args ...string) *exec.Cmd {
	var argv []string
	base := cleanEnviron()
	if e.mode.rootless {
		argv = append([]string{"runuser", "-u", testUserName, "--", "env",
			"XDG_RUNTIME_DIR=" + e.xdg, "HOME=" + e.home}, vars...)
		argv = append(append(argv, safeRun), args...)
	} else {
		argv = append([]string{safeRun, "--state-dir", e.state}, args...)
		base = append(base, vars...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = base
	cmd.Dir = "/" // readable by the test user too
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// cleanEnviron is the test's environment without anything that would
// change safe-run's choices.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SAFE_RUN_") || strings.HasPrefix(kv, "XDG_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// run runs safe-run with args (global flags first, then the command).
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runWith(nil, args...)
}

// runWith is run with extra environment variables for safe-run.
func (e *env) runWith(vars []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := e.command(ctx, vars, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("hang guard: %v did not finish within %v", cmd.Args, hangGuard)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("%v: %v", cmd.Args, err)
	}
	e.t.Logf("%s: safe-run %s -> %d", e.mode.name, strings.Join(args, " "), r.code)
	return r
}

// inside runs `safe-run default -- sh -c script` and returns the result.
func (e *env) inside(script string) result {
	e.t.Helper()
	return e.run("default", "--", "sh", "-c", script)
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s does not contain %q:\n%s", what, want, got)
	}
}

// childOf returns the pid of a child of ppid whose command name is comm,
// or 0.
func childOf(ppid int, comm string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parens.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) && s[open+1:end] == comm {
			return pid
		}
	}
	return 0
}

// poll calls cond until it returns true or the hang guard expires.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("hang guard: gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForProgram waits until the only container in the state root runs
// a process named comm as a child of its init (so that the init's signal
// forwarding is in place) and returns the container id.
func (e *env) waitForProgram(comm string) string {
	e.t.Helper()
	var id string
	poll(e.t, "the container's program "+comm+" to run", func() bool {
		entries, _ := os.ReadDir(filepath.Join(e.state, "bundles"))
		if len(entries) != 1 {
			return false
		}
		id = entries[0].Name()
		data, err := os.ReadFile(filepath.Join(e.state, "bundles", id, "init.pid"))
		if err != nil {
			return false
		}
		initPid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil && childOf(initPid, comm) != 0
	})
	return id
}

// safeRunPid is the pid of the safe-run process of cmd (rootless: the
// child that runuser started, once env has exec'd it).
func (e *env) safeRunPid(cmd *exec.Cmd) int {
	e.t.Helper()
	if !e.mode.rootless {
		return cmd.Process.Pid
	}
	var pid int
	poll(e.t, "runuser to start safe-run", func() bool {
		pid = childOf(cmd.Process.Pid, "safe-run")
		return pid != 0
	})
	return pid
}

// writeFile creates path with content, failing the test on error.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
