package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The seccomp agent (runtime-spec linux.seccomp.listenerPath).
//
// Protocol, as runc (1.1 and later) speaks it: after the container
// process has loaded its filter, it hands the filter's notify fd to the
// runc parent (runc 1.1: pidfd_getfd; later: SCM_RIGHTS), and the runc
// parent connects to listenerPath (a SOCK_STREAM unix socket) and sends
// ONE message: the JSON of a specs.ContainerProcessState
//
//	{"ociVersion": "...", "fds": ["seccompFd"], "pid": 1234,
//	 "metadata": "<listenerMetadata>", "state": {<the OCI state>}}
//
// with the notify fd attached as SCM_RIGHTS ancillary data; fds[i] names
// the i-th attached descriptor. runc then closes the connection and its
// own copy of the fd, and the container process closes its copy before
// it goes on: from then on the agent holds the only reference.
//
// The agent answers each notification with NotifRespond: an errno, or
// NotifRespFlagContinue (the kernel runs the syscall as if allowed).
// When the agent's copy of the fd is closed (Close, or safe-run dies),
// the kernel fails every pending and future notified syscall with
// ENOSYS: a dead agent never blocks the container.

// maxStateSize bounds the container process state runc sends (it holds
// the container's annotations, so it may exceed a page).
const maxStateSize = 1 << 20

// Notification is one syscall the filter sent to the agent.
type Notification struct {
	ID      uint64
	Pid     uint32 // in the agent's pid namespace
	Comm    string // the process's command name ("" if it could not be read)
	Arch    libseccomp.ScmpArch
	Nr      int32
	Syscall string // "" when libseccomp does not know Nr on Arch
	Args    [6]uint64
}

// Response is the agent's answer to a notification.
type Response struct {
	// Continue lets the syscall run as if the filter allowed it.
	Continue bool
	// Errno fails the syscall with this errno (when not Continue).
	Errno int
}

// Handler answers one notification. It runs on the agent's goroutine,
// one notification at a time, while the calling thread waits.
type Handler func(n *Notification) Response

// Agent receives the container's seccomp notify fd from the runtime and
// answers the notifications.
type Agent struct {
	path  string
	ln    *net.UnixListener
	stopR *os.File // readable once Close was called
	stopW *os.File

	mu        sync.Mutex
	state     *specs.ContainerProcessState
	connected bool
	closeOnce sync.Once
	done      chan struct{} // closed when Serve returns
	served    bool
}

// Listen creates the agent's unix socket at path (mode 0600; the file
// must not exist) before the runtime starts.
func Listen(path string) (*Agent, error) {
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("seccomp agent socket %s: the path is %d bytes, longer than a unix socket address allows (%d): use a shorter --state-dir",
			path, len(path), len(unix.RawSockaddrUnix{}.Path)-1)
	}
	// The umask makes the socket 0600 from the start (bind creates it);
	// the chmod below only makes sure. Only the runtime, running as the
	// same user, may connect.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("seccomp agent: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("seccomp agent: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &Agent{path: path, ln: ln, stopR: r, stopW: w, done: make(chan struct{})}, nil
}

// Path is the socket's path (the spec's listenerPath).
func (a *Agent) Path() string { return a.path }

// State is the container process state the runtime sent (nil before).
func (a *Agent) State() *specs.ContainerProcessState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// Connected reports whether the runtime handed over the notify fd.
func (a *Agent) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.connected
}

// Close stops Serve (which then closes the notify fd, so that the kernel
// fails any later notified syscall with ENOSYS) and removes the socket.
// It waits for Serve to return if Serve was started.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.stopW.Close() // wakes the poll in Serve
		a.ln.Close()    // wakes Accept; unlinks the socket
	})
	a.mu.Lock()
	served := a.served
	a.mu.Unlock()
	if served {
		<-a.done
	}
	return nil
}

// stopped reports whether Close was called.
func (a *Agent) stopped() bool {
	fds := []unix.PollFd{{Fd: int32(a.stopR.Fd()), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n > 0
}

// Serve accepts the runtime's connection, receives the notify fd and
// answers notifications with h until the container is gone (every
// process using the filter has exited) or Close is called. It returns nil
// in both cases. Serve may be called once.
func (a *Agent) Serve(h Handler) error {
	a.mu.Lock()
	if a.served {
		a.mu.Unlock()
		return errors.New("seccomp agent: Serve called twice")
	}
	a.served = true
	a.mu.Unlock()
	defer close(a.done)
	defer a.stopR.Close()

	fd, err := a.accept()
	if err != nil {
		if a.stopped() {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	return a.loop(fd, h)
}

// accept takes the runtime's single connection and returns the notify fd.
func (a *Agent) accept() (int, error) {
	conn, err := a.ln.AcceptUnix()
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	// One container process, one connection: nobody else gets in.
	a.ln.Close()

	raw, err := conn.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(s uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(s), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if credErr != nil {
		return -1, fmt.Errorf("seccomp agent: SO_PEERCRED: %w", credErr)
	}
	if int(cred.Uid) != os.Geteuid() {
		return -1, fmt.Errorf("seccomp agent: connection from uid %d, not from the runtime (uid %d)", cred.Uid, os.Geteuid())
	}

	// Read the whole message (runc closes the connection after it), and
	// collect every descriptor passed with it.
	var data []byte
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr != nil {
				return -1, fmt.Errorf("seccomp agent: %w", perr)
			}
			for i := range msgs {
				if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return -1, errors.New("seccomp agent: ancillary data truncated (too many descriptors)")
		}
		data = append(data, buf[:n]...)
		if len(data) > maxStateSize {
			return -1, errors.New("seccomp agent: container state too large")
		}
		if err != nil || n == 0 {
			break
		}
		// runc sends everything in one sendmsg: once the JSON is whole,
		// do not wait for the close.
		if json.Valid(data) {
			break
		}
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(data, &st); err != nil {
		return -1, fmt.Errorf("seccomp agent: cannot parse the container process state: %w", err)
	}
	i := slices.Index(st.Fds, specs.SeccompFdName)
	switch {
	case i < 0:
		return -1, fmt.Errorf("seccomp agent: the runtime sent no %q (fds %q)", specs.SeccompFdName, st.Fds)
	case i >= len(fds):
		return -1, fmt.Errorf("seccomp agent: fds names %d descriptors but %d arrived", len(st.Fds), len(fds))
	}
	fd := fds[i]
	fds = slices.Delete(fds, i, i+1) // the rest are closed
	unix.CloseOnExec(fd)
	a.mu.Lock()
	a.state, a.connected = &st, true
	a.mu.Unlock()
	return fd, nil
}

// loop answers notifications on fd until the filter has no users left
// (POLLHUP) or Close is called.
func (a *Agent) loop(fd int, h Handler) error {
	sfd := libseccomp.ScmpFd(fd)
	pfds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(a.stopR.Fd()), Events: unix.POLLIN}}
	for {
		pfds[0].Revents, pfds[1].Revents = 0, 0
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("seccomp agent: poll: %w", err)
		}
		if pfds[1].Revents != 0 {
			return nil // Close
		}
		ev := pfds[0].Revents
		if ev&unix.POLLIN == 0 {
			if ev&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return nil // every process using the filter has exited
			}
			continue
		}
		// POLLIN: a notification waits, so the receive does not block
		// (if its task died meanwhile, the kernel says ENOENT).
		req, err := libseccomp.NotifReceive(sfd)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("seccomp agent: receive: %w", err)
		}
		n := &Notification{ID: req.ID, Pid: req.Pid, Arch: req.Data.Arch, Nr: int32(req.Data.Syscall)}
		copy(n.Args[:], req.Data.Args)
		if name, err := req.Data.Syscall.GetNameByArch(req.Data.Arch); err == nil {
			n.Syscall = name
		}
		// /proc/PID may already be another process if the task died and
		// its pid was reused: read first, then check that the
		// notification (and so the task) is still alive.
		comm, _ := os.ReadFile("/proc/" + strconv.FormatUint(uint64(req.Pid), 10) + "/comm")
		if err := libseccomp.NotifIDValid(sfd, req.ID); err != nil {
			continue // the task is gone: nothing to answer
		}
		n.Comm = strings.TrimSpace(string(comm))
		r := h(n)
		resp := &libseccomp.ScmpNotifResp{ID: req.ID}
		switch {
		case r.Continue:
			resp.Flags = libseccomp.NotifRespFlagContinue
		default:
			errno := r.Errno
			if errno <= 0 {
				errno = int(unix.EPERM)
			}
			resp.Error = int32(errno) // libseccomp negates it for the kernel
		}
		if err := libseccomp.NotifRespond(sfd, resp); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("seccomp agent: respond: %w", err)
		}
	}
}
