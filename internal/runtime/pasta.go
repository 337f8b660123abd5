package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pasta connects a container's own network namespace to the outside with
// pasta (passt's namespace mode): user-mode networking, no bridge, no
// veth, no iptables, rootful and rootless alike (network: private).
//
// Lifetime: pasta is safe-run's child, started once runc has written the
// container init's pid and before the init lets the program start (the
// init waits for the route pasta configures: --check net=route); it is
// killed when the container is gone, on every path out of Run. Should
// safe-run itself be SIGKILLed, the kernel kills pasta too (parent-death
// signal, which pasta keeps: it never changes its uid here).
type Pasta struct {
	Path string   // absolute path of pasta
	Args []string // the plan's options (plan.Plan.Pasta)
	// JoinUserNS: the network namespace belongs to the container's user
	// namespace (rootless), which pasta joins too.
	JoinUserNS bool
}

// FindPasta returns the absolute path of pasta, or the exit-125 error
// naming the package that provides it. Rootless, it also checks that the
// caller can open /dev/net/tun, where pasta creates the container's
// interface.
func FindPasta(rootless bool) (string, error) {
	p, err := exec.LookPath("pasta")
	if err != nil {
		return "", ToolError("--network private needs pasta (apt-get install passt), which connects the container's network namespace to the outside")
	}
	if rootless {
		if err := unix.Access(tunDevice, unix.R_OK|unix.W_OK); err != nil {
			return "", ToolError("--network private: pasta cannot open %s as you (%v): rootless private networking needs it "+
				"readable and writable by every user, as Debian sets it up (crw-rw-rw-; as root: chmod 0666 %s)", tunDevice, err, tunDevice)
		}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", ToolError("pasta path: %v", err)
	}
	return abs, nil
}

const tunDevice = "/dev/net/tun"

// pastaPoll is how often Run looks for the init's pid file while the
// container is being created; pastaStartTimeout bounds that wait.
const (
	pastaPoll         = 2 * time.Millisecond
	pastaStartTimeout = 30 * time.Second
)

// pastaRun is one running pasta.
type pastaRun struct {
	cmd    *exec.Cmd
	stderr *limitedBuffer
	exited chan struct{} // closed once pasta has exited; err is then set
	err    error
	once   sync.Once
}

// PastaArgs is pasta's full command line for a container whose namespaces
// are passed as fds 3 (network) and 4 (user, with JoinUserNS). Going
// through the caller's own fds rather than /proc/PID/ns paths: pasta
// drops privileges before it opens its --netns, and may then no longer be
// allowed to look into the container's init (another uid), while a
// reopened fd of its own always works; it also pins the namespace safe-run
// checked, whatever happens to the pid later.
func (p *Pasta) PastaArgs(logFile string) []string {
	args := append([]string{p.Path}, p.Args...)
	args = append(args, "--log-file", logFile, "--netns", "/proc/self/fd/3")
	if p.JoinUserNS {
		args = append(args, "--userns", "/proc/self/fd/4")
	} else {
		args = append(args, "--netns-only")
	}
	return args
}

// tryStart starts pasta for the container whose init's pid runc wrote to
// pidFile, once it exists. It returns nil, nil while there is no pid file
// yet (or the init is not yet a child of runcPid: runc is still setting
// it up), so that the caller polls again.
func (p *Pasta) tryStart(pidFile string, runcPid int, logFile string) (*pastaRun, error) {
	data, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the container's pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("the container's pid file holds %q, not a pid", data)
	}
	// Make sure the pid is the container's init (a child of our runc,
	// not a reused pid) for as long as we look at it: a pidfd pins the
	// process, the parent check identifies it, and a signal 0 through
	// the pidfd after opening the namespaces proves it was still the
	// same process then.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("the container's init (pid %d) is gone: %v", pid, err)
	}
	defer unix.Close(pidfd)
	if ppid, err := parentOf(pid); err != nil || ppid != runcPid {
		return nil, fmt.Errorf("pid %d is not the container's init (its parent is %d, not runc's %d)", pid, ppid, runcPid)
	}
	netns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("the container's network namespace: %v", err)
	}
	defer netns.Close()
	files := []*os.File{netns}
	if p.JoinUserNS {
		userns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
		if err != nil {
			return nil, fmt.Errorf("the container's user namespace: %v", err)
		}
		defer userns.Close()
		files = append(files, userns)
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return nil, fmt.Errorf("the container's init (pid %d) exited while its network was being set up", pid)
	}
	// Never configure the host's own network namespace.
	if same, err := sameFile(netns, "/proc/self/ns/net"); err != nil || same {
		return nil, fmt.Errorf("the container has no network namespace of its own: refusing to start pasta in the host's")
	}

	argv := p.PastaArgs(logFile)
	r := &pastaRun{stderr: &limitedBuffer{max: 4096}, exited: make(chan struct{})}
	r.cmd = &exec.Cmd{Path: p.Path, Args: argv, ExtraFiles: files, Stderr: r.stderr,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start pasta: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// failure describes pasta's early exit (after exited is closed) with
// what it printed.
func (r *pastaRun) failure() error {
	err := r.err
	if err == nil {
		err = errors.New("exit status 0")
	}
	msg := r.stderr.lines()
	if msg == "" {
		msg = "no message; see its log in the bundle"
	}
	return fmt.Errorf("pasta, which connects the container's private network, exited (%v): %s", err, msg)
}

// stop kills pasta and waits for it (idempotent).
func (r *pastaRun) stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
		}
	})
}

// parentOf returns the parent pid of pid from /proc/PID/stat.
func parentOf(pid int) (int, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parens.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unparsable /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, fmt.Errorf("unparsable /proc/%d/stat", pid)
	}
	return strconv.Atoi(f[1])
}

// sameFile reports whether f and the file at path are the same inode.
func sameFile(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		b.buf.Write(p[:room])
	}
	return len(p), nil
}

// lines returns what pasta printed, on one line, without its complaints
// about the system logger (it logs to the bundle's file instead).
func (b *limitedBuffer) lines() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "to syslog") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "; ")
}
