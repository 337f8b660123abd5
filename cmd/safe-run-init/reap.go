package main

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// defaultPath is searched when the environment has no PATH at all, as
// execvp and the shells do.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runProgram starts argv as a child, supervises it as PID 1 and returns
// the exit code safe-run-init must exit with.
func runProgram(argv []string, c *checker, sig *subscription, stderr io.Writer) int {
	name := argv[0]
	prog := name
	if !strings.Contains(name, "/") {
		pathEnv, ok := os.LookupEnv("PATH")
		if !ok {
			pathEnv = defaultPath
		}
		var code int
		var msg string
		prog, code, msg = lookPath(name, pathEnv)
		if code != 0 {
			io.WriteString(stderr, "safe-run: "+name+": "+msg+"\n")
			return code
		}
	}

	// A stop signal that arrived before the program started (during the
	// checks or the lookup) ends the run here: the program never runs.
	if code, stopped := pendingStop(sig); stopped {
		return code
	}

	// Inherit fds 0-2, the environment and the working directory. No
	// Setpgid/Setsid: the child stays in our process group, which with a
	// terminal is its foreground group, so job control and ^C work.
	// syscall.ForkExec rather than os.StartProcess: the latter first
	// forks a throw-away child to probe for CLONE_PIDFD, a process start
	// every container would pay for a pidfd we do not use (we reap with
	// wait4 ourselves: orphans must be reaped too).
	pid, err := syscall.ForkExec(prog, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		code, msg := startError(prog, err)
		io.WriteString(stderr, "safe-run: "+name+": "+msg+"\n")
		return code
	}

	// As PID 1, wait for any child: processes orphaned inside the
	// container are reparented to us and would stay zombies forever.
	// Outside a pid namespace (tests) only wait for our own child, so as
	// not to steal other children's statuses.
	waitFor := pid
	if os.Getpid() == 1 {
		waitFor = -1
	}
	for {
		select {
		case <-sig.chld:
			ws, done, lost := reap(waitFor, pid)
			if lost {
				io.WriteString(stderr, "safe-run-init: lost track of the program (pid "+strconv.Itoa(pid)+")\n")
				return exitInternal
			}
			if done {
				code := exitCode(ws)
				if ws.Signaled() && ws.Signal() == unix.SIGKILL {
					if msg := c.oomMessage(); msg != "" {
						io.WriteString(stderr, msg+"\n")
					}
				}
				// When PID 1 exits the kernel kills everything left
				// in the pid namespace, so there is nothing to clean.
				return code
			}
		case s := <-sig.all:
			sig, ok := s.(syscall.Signal)
			// SIGCHLD is handled above; SIGURG is the Go runtime's
			// own preemption signal, not meant for anyone.
			if !ok || sig == unix.SIGCHLD || sig == unix.SIGURG || ttyDelivered(sig, pid) {
				continue
			}
			// ESRCH (the child is already gone) is fine: its exit
			// status is about to arrive.
			unix.Kill(pid, sig)
		}
	}
}

// reap collects every child status available without blocking. done is
// true once the status of main has been collected; lost is true when main
// is gone without its status being seen (cannot happen unless someone else
// waited for it).
func reap(waitFor, main int) (ws unix.WaitStatus, done, lost bool) {
	for {
		var st unix.WaitStatus
		wpid, err := unix.Wait4(waitFor, &st, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			return ws, false, true
		case err != nil || wpid <= 0:
			return ws, false, false // nothing more to reap now
		case wpid == main:
			return st, true, false
		}
		// An orphan reparented to PID 1: reaped, nothing else to do.
	}
}

// exitCode maps a wait status to the shell's convention: the exit code, or
// 128+N when killed by signal N.
func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return exitInternal
}

// ttyDelivered reports whether sig is one a terminal sends by itself to its
// whole foreground process group (^C, ^\, ^Z, window resize) while that
// group is both ours and the child's. The kernel has then already
// delivered it to the child too, and forwarding it would deliver it twice:
// a second SIGINT can, for instance, interrupt the program's own cleanup
// handler. A signal sent to us alone (runc kill) in that situation cannot
// be told apart and is not forwarded; SIGTERM and SIGKILL, which are what
// stopping a container sends, always are.
func ttyDelivered(sig syscall.Signal, child int) bool {
	switch sig {
	case unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGWINCH:
	default:
		return false
	}
	pgrp := unix.Getpgrp()
	if cg, err := unix.Getpgid(child); err != nil || cg != pgrp {
		return false
	}
	for fd := 0; fd <= 2; fd++ {
		// TIOCGPGRP fails (ENOTTY) unless fd is our controlling terminal.
		if fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err == nil && fg == pgrp {
			return true
		}
	}
	return false
}

// lookPath searches name in pathEnv like exec.LookPath (an empty entry
// means the current directory) and returns the file to execute, or an exit
// code and message: 127 when no such file exists, 126 when one exists but
// none is executable (as the shells do).
func lookPath(name, pathEnv string) (string, int, string) {
	denied := ""
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 != 0 {
			return p, 0, ""
		}
		if denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", exitCannotExec, "cannot execute: " + denied + ": permission denied"
	}
	return "", exitNotFound, "command not found"
}

// startError classifies a syscall.ForkExec failure into an exit code and
// message.
func startError(prog string, err error) (int, string) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return exitCannotExec, "cannot execute: " + err.Error()
	}
	switch errno {
	case unix.ENOENT:
		if _, serr := os.Stat(prog); serr == nil {
			// The file is there, so what is missing is what the kernel
			// needs to run it: the #! interpreter or the ELF loader
			// (a dynamically linked binary without its libraries).
			return exitCannotExec, "cannot execute: " + errno.Error() +
				" (its #! interpreter or dynamic loader is missing from the container)"
		}
		return exitNotFound, "command not found"
	case unix.ENOTDIR:
		return exitNotFound, "command not found"
	case unix.EAGAIN, unix.ENOMEM:
		// fork itself failed, e.g. at the pids limit.
		return exitInternal, "cannot start: " + errno.Error()
	}
	// EACCES, ENOEXEC, EISDIR, EPERM, ETXTBSY, ...
	return exitCannotExec, "cannot execute: " + errno.Error()
}

// oomMessage explains a SIGKILL that came from the OOM killer, or returns
// "" when the memory cgroup recorded no OOM kill.
func (c *checker) oomMessage() string {
	var events string
	if c.cgroupV2() {
		events = "memory.events"
	} else {
		events = "memory/memory.oom_control"
	}
	data, err := c.readCgroup(events)
	if err != nil {
		return ""
	}
	kills := int64(0)
	for _, line := range strings.Split(data, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			kills, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if kills <= 0 {
		return ""
	}
	limit := ""
	if v, err := c.memoryLimit(); err == nil {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			prec := 0
			if n%(1<<20) != 0 {
				prec = 1
			}
			limit = " (" + strconv.FormatFloat(float64(n)/(1<<20), 'f', prec, 64) + " MiB)"
		}
	}
	return "safe-run: the program was killed by the kernel's OOM killer: the memory limit" + limit +
		" was reached (raise resources.memory or --memory)"
}

// subscription holds the signal channels of PID 1. It is created first
// thing in main, so that no signal meant for the program can arrive while
// nobody listens. A PID 1 must handle signals itself: the kernel drops any
// signal sent to a pid namespace's init from inside the namespace (and
// all but SIGKILL and SIGSTOP from its parent namespace) unless the init
// has installed a handler, so `runc kill` / `docker stop`-style SIGTERMs
// would otherwise never reach the program.
type subscription struct {
	all chan os.Signal
	// chld gets SIGCHLD on a channel of its own, so that a flood of
	// other signals overflowing all can never make us miss the child's
	// exit. One slot is enough: a pending wake-up already means "reap".
	chld chan os.Signal
}

func subscribe() *subscription {
	s := &subscription{all: make(chan os.Signal, 64), chld: make(chan os.Signal, 1)}
	// An explicit list, not Notify() with no arguments: subscribing to
	// every signal costs ~1.7 ms at each container start, and these are
	// the signals that mean something to a program (the same set runc
	// forwards plus job control and SIGWINCH).
	signal.Notify(s.all, forwarded...)
	signal.Notify(s.chld, unix.SIGCHLD)
	return s
}

// forwarded are the signals PID 1 passes on to the program.
var forwarded = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGPIPE, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
	unix.SIGVTALRM, unix.SIGPROF, unix.SIGPWR, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGIO}

// stopSignals end a run that has not started its program yet.
var stopSignals = map[syscall.Signal]bool{unix.SIGTERM: true, unix.SIGINT: true, unix.SIGHUP: true, unix.SIGQUIT: true}

// pendingStop reports whether a stop signal is already queued, and the
// exit code (128+N) to report for it. Other queued signals are kept for
// forwarding.
func pendingStop(s *subscription) (int, bool) {
	var keep []os.Signal
	defer func() {
		for _, k := range keep {
			select {
			case s.all <- k:
			default:
			}
		}
	}()
	for {
		select {
		case got := <-s.all:
			if sig, ok := got.(syscall.Signal); ok && stopSignals[sig] {
				return 128 + int(sig), true
			}
			keep = append(keep, got)
		default:
			return 0, false
		}
	}
}
