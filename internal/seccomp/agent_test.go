package seccomp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The agent tests play runc's part in a helper process (this test binary
// again): it loads a filter that notifies getpgid and getppid on its
// thread, connects to the agent's socket and sends the container process
// state with the notify fd attached (SCM_RIGHTS), exactly as runc does,
// closes its own copy, and then makes the notified calls.

const helperEnv = "SAFE_RUN_AGENT_TEST_HELPER"

// TestAgentHelper is the helper process; it does nothing in a normal run.
func TestAgentHelper(t *testing.T) {
	sock := os.Getenv(helperEnv)
	if sock == "" {
		t.Skip("helper process for the agent tests")
	}
	os.Exit(agentHelper(sock))
}

func agentHelper(sock string) int {
	runtime.LockOSThread() // the filter is this thread's only
	fail := func(format string, args ...any) int {
		fmt.Printf("helper error: "+format+"\n", args...)
		return 1
	}
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return fail("%v", err)
	}
	for _, name := range []string{"getpgid", "getppid"} {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			return fail("%v", err)
		}
		if err := f.AddRule(nr, libseccomp.ActNotify); err != nil {
			return fail("%v", err)
		}
	}
	if err := f.Load(); err != nil {
		return fail("load: %v", err)
	}
	fd, err := f.GetNotifFd()
	if err != nil {
		return fail("%v", err)
	}
	// runc: dial, one sendmsg with the state and the fd, close.
	state := specs.ContainerProcessState{Version: specs.Version, Fds: []string{specs.SeccompFdName},
		Pid: os.Getpid(), Metadata: "test-metadata", State: specs.State{ID: "helper", Status: specs.StateCreating}}
	data, _ := json.Marshal(state)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return fail("dial: %v", err)
	}
	uc := conn.(*net.UnixConn)
	if _, _, err := uc.WriteMsgUnix(data, unix.UnixRights(int(fd)), nil); err != nil {
		return fail("sendmsg: %v", err)
	}
	uc.Close()
	unix.Close(int(fd))

	call := func(nr uintptr) string {
		r, _, e := unix.RawSyscall(nr, 0, 0, 0)
		return fmt.Sprintf("%d %d", int(r), int(e))
	}
	fmt.Println("getpgid", call(unix.SYS_GETPGID))
	fmt.Println("getppid", call(unix.SYS_GETPPID))
	if os.Getenv(helperEnv+"_WAIT") == "" {
		return 0
	}
	fmt.Println("waiting")
	bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println("getpgid", call(unix.SYS_GETPGID))
	return 0
}

// startHelper runs the helper against the agent at sock.
func startHelper(t *testing.T, sock string, wait bool) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+sock)
	if wait {
		cmd.Env = append(cmd.Env, helperEnv+"_WAIT=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewReader(stdout), stdin
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if strings.HasPrefix(s, "helper error") {
			t.Fatal(s)
		}
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("the helper hangs")
	}
	return ""
}

type recorded struct {
	mu sync.Mutex
	ns []Notification
}

func (r *recorded) handler(n *Notification) Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ns = append(r.ns, *n)
	if n.Syscall == "getppid" {
		return Response{Continue: true}
	}
	return Response{Errno: int(unix.EACCES)}
}

func TestAgentAnswersAndStopsWhenTheProcessIsGone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "seccomp.sock")
	a, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	var rec recorded
	served := make(chan error, 1)
	go func() { served <- a.Serve(rec.handler) }()

	cmd, out, _ := startHelper(t, sock, false)
	if got, want := readLine(t, out), fmt.Sprintf("getpgid -1 %d", unix.EACCES); got != want {
		t.Errorf("errno answer: helper says %q, want %q", got, want)
	}
	if got, want := readLine(t, out), fmt.Sprintf("getppid %d 0", os.Getpid()); got != want {
		t.Errorf("continue answer: helper says %q, want %q (the real getppid)", got, want)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	// Nobody uses the filter any more: Serve ends by itself.
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after the process using the filter exited")
	}

	st := a.State()
	if !a.Connected() || st == nil {
		t.Fatal("the agent did not record the connection")
	}
	if st.Pid != cmd.Process.Pid || st.Metadata != "test-metadata" || st.State.ID != "helper" ||
		len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName {
		t.Errorf("container process state = %+v", st)
	}
	if len(rec.ns) != 2 {
		t.Fatalf("notifications = %+v, want getpgid and getppid", rec.ns)
	}
	for i, want := range []string{"getpgid", "getppid"} {
		n := rec.ns[i]
		if n.Syscall != want || n.Pid != uint32(cmd.Process.Pid) || n.Comm == "" {
			t.Errorf("notification %d = %+v, want %s from pid %d with its comm", i, n, want, cmd.Process.Pid)
		}
		if native, _ := libseccomp.GetNativeArch(); n.Arch != native {
			t.Errorf("notification %d arch %v, want %v", i, n.Arch, native)
		}
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket is still there after the runtime connected")
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestAgentClosedFailsWithENOSYS: once the agent is closed (or dead), the
// kernel answers notified syscalls with ENOSYS instead of blocking.
func TestAgentClosedFailsWithENOSYS(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "seccomp.sock")
	a, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorded
	served := make(chan error, 1)
	go func() { served <- a.Serve(rec.handler) }()
	cmd, out, in := startHelper(t, sock, true)
	readLine(t, out) // getpgid
	readLine(t, out) // getppid
	if got := readLine(t, out); got != "waiting" {
		t.Fatalf("helper says %q", got)
	}
	a.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	fmt.Fprintln(in)
	if got, want := readLine(t, out), fmt.Sprintf("getpgid -1 %d", unix.ENOSYS); got != want {
		t.Errorf("after Close: helper says %q, want %q", got, want)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
}

func TestAgentCloseBeforeConnect(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "seccomp.sock")
	a, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(func(*Notification) Response { return Response{} }) }()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after Close without a connection: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop Serve waiting for the runtime")
	}
	if a.Connected() {
		t.Error("Connected without a connection")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("Close left the socket behind")
	}
}

func TestAgentRefusesBadHandover(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  string
		fds  bool
		want string
	}{
		{"no fd", `{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1,"state":{}}`, false, "descriptors but 0 arrived"},
		{"no seccompFd", `{"ociVersion":"1.0.2","fds":["other"],"pid":1,"state":{}}`, true, `sent no "seccompFd"`},
		{"not JSON", `hello`, true, "cannot parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s.sock")
			a, err := Listen(sock)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			served := make(chan error, 1)
			go func() { served <- a.Serve(func(*Notification) Response { return Response{} }) }()
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			var oob []byte
			if c.fds {
				oob = unix.UnixRights(int(os.Stdin.Fd()))
			}
			conn.(*net.UnixConn).WriteMsgUnix([]byte(c.msg), oob, nil)
			conn.Close()
			select {
			case err := <-served:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Serve = %v, want an error with %q", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve hangs on a bad handover")
			}
		})
	}
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("x", 120))
	if _, err := Listen(long); err == nil || !strings.Contains(err.Error(), "shorter --state-dir") {
		t.Errorf("Listen(too long) = %v", err)
	}
	sock := filepath.Join(dir, "s.sock")
	a, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Listen(sock); err == nil {
		t.Error("Listen on an existing path succeeded")
	}
}
