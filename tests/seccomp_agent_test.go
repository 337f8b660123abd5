package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The seccomp agent: `run --explain` answers each refused syscall as the
// filter would and says why; `record` lets refused syscalls run and
// writes a profile fragment that allows them.

// agentEnv is newEnv with a short state root: the agent's socket lives in
// the bundle directory, and a unix socket path has at most 107 bytes.
func agentEnv(t *testing.T, m mode) *env {
	t.Helper()
	requireE2E(t)
	var short string
	if !m.rootless {
		dir, err := os.MkdirTemp("/tmp", "sr-agent-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) }) // runs after newEnv's state check
		short = filepath.Join(dir, "state")
	}
	e := newEnv(t, m)
	if short != "" {
		e.state = short
	}
	return e
}

// agentProfiles writes the base profile of the record tests: the default
// profile without mkdir and rename, which real programs need.
func agentProfiles(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "sr-profiles-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "base.yaml"), `description: default without mkdir and rename
extends: default
seccomp:
  deny: [mkdir, mkdirat, rename, renameat, renameat2]
`)
	return dir
}

// explainScript makes refused calls of each kind from python3 and prints
// the errno each one got.
const explainScript = `
import ctypes, errno, fcntl, socket, termios
libc = ctypes.CDLL(None, use_errno=True)
def show(name, rc):
    print(name, rc, ctypes.get_errno() if rc == -1 else 0, flush=True)
show("ptrace", libc.ptrace(0, 0, 0, 0))
show("unshare", libc.unshare(0x10000000))
try:
    socket.socket(17, socket.SOCK_RAW)
    print("packet ok")
except OSError as e:
    print("packet", e.errno)
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
    print("tiocsti ok")
except OSError as e:
    print("tiocsti", e.errno)
`

func TestSeccompExplain(t *testing.T) {
	t.Run("rootful/denials_explained_with_the_filter's_errno", func(t *testing.T) {
		e := agentEnv(t, rootful)
		r := e.run("run", "--explain", "--", "python3", "-c", explainScript)
		wantCode(t, r, 0)
		// The program sees what the enforcing filter answers.
		for _, want := range []string{"ptrace -1 1\n", "unshare -1 1\n", "packet 97\n", "tiocsti 1\n"} {
			wantContains(t, "stdout", r.stdout, want)
		}
		for _, want := range []string{
			`safe-run: denied: ptrace(PTRACE_TRACEME) by profile "default" (not allowed; in group @debug; allow with seccomp.allow: [ptrace])`,
			`safe-run: denied: unshare(CLONE_NEWUSER) by profile "default" (namespace flags not allowed; allow with seccomp.self-sandbox: true`,
			`safe-run: denied: socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC) by profile "default" (address family not allowed; allow with seccomp.socket-families: [inet, inet6, netlink, unix, packet])`,
			`safe-run: denied: ioctl(0, TIOCSTI) by profile "default" (always refused: TIOCSTI can inject input into the host's terminal)`,
			`[python3, pid `,
			`safe-run: explain: profile "default" refused 4 syscall(s):`,
		} {
			wantContains(t, "stderr", r.stderr, want)
		}
		t.Logf("stderr:\n%s", r.stderr)
	})

	t.Run("rootful/SAFE_RUN_EXPLAIN_with_the_shorthand", func(t *testing.T) {
		e := agentEnv(t, rootful)
		r := e.runWith([]string{"SAFE_RUN_EXPLAIN=1"}, "default", "--", "python3", "-c",
			"import ctypes; print(ctypes.CDLL(None).ptrace(0, 0, 0, 0))")
		wantCode(t, r, 0)
		wantContains(t, "stdout", r.stdout, "-1")
		wantContains(t, "stderr", r.stderr, `safe-run: denied: ptrace(PTRACE_TRACEME) by profile "default"`)
	})

	t.Run("rootful/profile_deny_errno_is_answered", func(t *testing.T) {
		e := agentEnv(t, rootful)
		dir := agentProfiles(t)
		writeFile(t, filepath.Join(dir, "eacces.yaml"), "extends: base\nseccomp:\n  deny-errno: EACCES\n")
		r := e.run("--profile-dir", dir, "run", "--explain", "--profile", "eacces", "--",
			"python3", "-c", "import os\ntry:\n  os.mkdir('/tmp/x')\nexcept OSError as e:\n  print('mkdir', e.errno)")
		wantCode(t, r, 0)
		wantContains(t, "stdout", r.stdout, "mkdir 13\n")
		wantContains(t, "stderr", r.stderr, `safe-run: denied: mkdir(...) by profile "eacces" (not allowed; in group @file-system; allow with seccomp.allow: [mkdir])`)
	})

	// Allowed syscalls are ALLOW rules in the kernel: they never reach the
	// agent, however many there are.
	t.Run("rootful/allowed_syscalls_never_reach_the_agent", func(t *testing.T) {
		e := agentEnv(t, rootful)
		r := e.run("run", "--explain", "--", "sh", "-c",
			`i=0; while [ $i -lt 200 ]; do cat /etc/hostname >/dev/null; i=$((i+1)); done; ls -lR /usr/lib >/dev/null; `+
				`python3 -c 'import os, socket; [os.stat("/") for _ in range(10000)]; socket.socket(socket.AF_INET).close(); socket.socket(socket.AF_UNIX).close(); print(os.getpid())'`)
		wantCode(t, r, 0)
		if strings.Contains(r.stderr, "denied:") {
			t.Errorf("allowed syscalls reached the agent:\n%s", r.stderr)
		}
		wantContains(t, "stderr", r.stderr, `safe-run: explain: profile "default" refused no syscall`)
	})

	// runc 1.1 fetches the notify fd with pidfd_getfd, which a rootless
	// runc may not do on the container's (non-dumpable) init: explain
	// must then fail closed, say why, and leave nothing behind.
	t.Run("rootless/works_or_fails_closed_with_a_hint", func(t *testing.T) {
		e := agentEnv(t, rootless)
		r := e.run("run", "--explain", "--", "python3", "-c", "import ctypes; print(ctypes.CDLL(None).ptrace(0, 0, 0, 0))")
		switch r.code {
		case 0:
			wantContains(t, "stderr", r.stderr, `safe-run: denied: ptrace(PTRACE_TRACEME)`)
		case 125:
			wantContains(t, "stderr", r.stderr, "SYS_PIDFD_GETFD")
			wantContains(t, "stderr", r.stderr, "--explain needs a rootful run")
			t.Logf("rootless explain is not possible with this runc:\n%s", r.stderr)
		default:
			t.Errorf("rootless --explain: %s", r)
		}
	})
}

// TestSeccompAgentKilledSafeRunFailsClosed: when safe-run dies (SIGKILL)
// while a container process is about to make a notified syscall, the
// kernel fails that syscall with ENOSYS (the listener fd is gone): the
// process never hangs. `safe-run gc` then cleans up.
func TestSeccompAgentKilledSafeRunFailsClosed(t *testing.T) {
	e := agentEnv(t, rootful)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := e.command(ctx, nil, "run", "--explain", "--", "python3", "-c", `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
def ptrace():
    rc = libc.ptrace(0, 0, 0, 0)
    return "%d %d" % (rc, ctypes.get_errno())
print("first", ptrace(), flush=True)
sys.stdin.readline()
print("second", ptrace(), flush=True)
`)
	// Plain pipes (not exec's copying goroutines): the container keeps
	// its ends after safe-run is gone.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// stderr in a file: a pipe would stay open as long as the container.
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	defer inW.Close()
	defer outR.Close()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				return "<EOF>"
			}
			return l
		case <-time.After(hangGuard):
			t.Fatalf("hang guard: no output from the container\nstderr: %s", readAll(stderr))
		}
		return ""
	}
	// The agent answered the first call: it holds the notify fd.
	if got := next(); got != "first -1 1" {
		t.Fatalf("first ptrace: %q, want \"first -1 1\" (EPERM from the agent)\nstderr: %s", got, readAll(stderr))
	}
	if err := syscall.Kill(e.safeRunPid(cmd), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	fmt.Fprintln(inW, "go")
	if got := next(); got != fmt.Sprintf("second -1 %d", syscall.ENOSYS) {
		t.Fatalf("ptrace after safe-run was killed: %q, want \"second -1 %d\" (ENOSYS from the kernel)", got, syscall.ENOSYS)
	}
	if got := next(); got != "<EOF>" { // the container and runc are gone
		t.Errorf("unexpected output %q", got)
	}
	entries, _ := os.ReadDir(filepath.Join(e.state, "bundles"))
	if len(entries) != 1 {
		t.Errorf("want the killed run's bundle left for gc, found %d", len(entries))
	}
	r := e.run("gc")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "removed safe-run-")
	e.assertStateEmpty()
}

func readAll(f *os.File) string {
	data, _ := os.ReadFile(f.Name())
	return string(data)
}

// recordScript needs mkdir and rename, which the base profile denies.
const recordScript = `mkdir /tmp/x && echo hi > /tmp/x/a && mv /tmp/x/a /tmp/x/b && cat /tmp/x/b`

func TestSeccompRecord(t *testing.T) {
	shell := []string{"sh", "-c"}
	if busybox != "" {
		shell = []string{busybox, "sh", "-c"}
	}
	t.Run("rootful/mkdir_rename_round_trip", func(t *testing.T) {
		e := agentEnv(t, rootful)
		dir := agentProfiles(t)
		run := func(profile string) result {
			return e.run(append([]string{"--profile-dir", dir, "run", "--profile", profile, "--"}, append(shell, recordScript)...)...)
		}
		before := run("base")
		if before.code == 0 {
			t.Fatalf("the base profile allows the script:\n%s", before)
		}
		wantContains(t, "stderr", before.stdout+before.stderr, "Operation not permitted")

		out := filepath.Join(dir, "recorded.yaml")
		r := e.run(append([]string{"--profile-dir", dir, "record", "base", "-o", out, "--"}, append(shell, recordScript)...)...)
		wantCode(t, r, 0)
		wantContains(t, "stdout", r.stdout, "hi\n")
		wantContains(t, "stderr", r.stderr, `safe-run: warning: record lets every syscall profile "base" refuses run`)
		wantContains(t, "stderr", r.stderr, "profile fragment written to "+out)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		frag := string(data)
		t.Logf("fragment:\n%s", frag)
		for _, want := range []string{"extends: base\n", "# @file-system: ", "Coverage: only the code paths", "safe-run-init calls only syscalls"} {
			wantContains(t, "fragment", frag, want)
		}
		if !strings.Contains(frag, "- mkdir\n") && !strings.Contains(frag, "- mkdirat\n") {
			t.Error("the fragment allows neither mkdir nor mkdirat")
		}
		if !strings.Contains(frag, "- rename") {
			t.Error("the fragment allows no rename syscall")
		}

		after := run("recorded")
		wantCode(t, after, 0)
		wantContains(t, "stdout", after.stdout, "hi\n")

		// Never overwritten.
		again := e.run("--profile-dir", dir, "record", "base", "-o", out, "--", "true")
		wantCode(t, again, 125)
		wantContains(t, "stderr", again.stderr, "already exists")
		if now, _ := os.ReadFile(out); string(now) != frag {
			t.Error("record changed an existing output file")
		}
	})

	t.Run("rootful/python_socket_family_round_trip", func(t *testing.T) {
		e := agentEnv(t, rootful)
		dir := agentProfiles(t)
		// AF_VSOCK (40): a family outside the base whose socket(2) works
		// unprivileged inside a container.
		script := "import socket; s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM); print('vsock ok'); s.close()"
		run := func(profile string) result {
			return e.run("--profile-dir", dir, "run", "--profile", profile, "--", "python3", "-c", script)
		}
		before := run("base")
		if before.code == 0 {
			t.Fatalf("the base profile allows AF_VSOCK:\n%s", before)
		}
		wantContains(t, "stderr", before.stderr, "[Errno 97] Address family not supported")

		out := filepath.Join(dir, "vsock.yaml")
		r := e.run("--profile-dir", dir, "record", "base", "-o", out, "--", "python3", "-c", script)
		wantCode(t, r, 0)
		wantContains(t, "stdout", r.stdout, "vsock ok")
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fragment:\n%s", data)
		wantContains(t, "fragment", string(data), "  socket-families: [inet, inet6, netlink, unix, vsock]\n")

		after := run("vsock")
		wantCode(t, after, 0)
		wantContains(t, "stdout", after.stdout, "vsock ok")
	})

	t.Run("rootful/fragment_to_stdout", func(t *testing.T) {
		e := agentEnv(t, rootful)
		dir := agentProfiles(t)
		r := e.run("--profile-dir", dir, "record", "base", "--", "python3", "-c", "import os; os.mkdir('/tmp/y')")
		wantCode(t, r, 0)
		wantContains(t, "stdout", r.stdout, "extends: base\n")
		wantContains(t, "stdout", r.stdout, "    - mkdir\n")
	})

	t.Run("rootless/works_or_fails_closed_with_a_hint", func(t *testing.T) {
		e := agentEnv(t, rootless)
		dir := agentProfiles(t)
		out := filepath.Join(dir, "rl.yaml")
		os.Chmod(dir, 0o777)
		r := e.run("--profile-dir", dir, "record", "base", "-o", out, "--", "python3", "-c", "import os; os.mkdir('/tmp/y')")
		switch r.code {
		case 0:
			data, _ := os.ReadFile(out)
			wantContains(t, "fragment", string(data), "- mkdir\n")
		case 125:
			wantContains(t, "stderr", r.stderr, "record needs a rootful run")
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed record left an output file")
			}
		default:
			t.Errorf("rootless record: %s", r)
		}
	})
}
