package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runner runs bundles with one OCI runtime and state directory.
type Runner struct {
	Runtime       string // absolute path of runc
	Root          string // runc --root
	SystemdCgroup bool
	// StopTimeout is how long a container may take to exit after a
	// forwarded SIGTERM/SIGINT before it is killed.
	StopTimeout time.Duration
	// Pasta, when set, connects the container's network namespace
	// (network: private); see Pasta for its lifetime.
	Pasta *Pasta
}

// Why safe-run waits for `runc run` instead of exec'ing it: cleanup of the
// bundle on every path, and telling the runtime's own failures (exit 125)
// from the program's exit status. Why `runc run` rather than create/start:
// runc loads the seccomp filter only after `runc start`, right before
// execve, so a host-side check between the two cannot see it; safe-run-init
// checks every control from inside instead (cmd/safe-run-init), which
// leaves no reason to pay for three runc processes instead of one.

// Signals is safe-run's subscription to the signals it forwards. Take it
// before the bundle exists, so that a signal in any later step ends in
// cleanup rather than in the default action (death with a bundle left).
type Signals chan os.Signal

// Subscribe starts catching the signals safe-run forwards or acts on.
func Subscribe() Signals {
	s := make(Signals, 8)
	signal.Notify(s, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	return s
}

// Stop ends the subscription.
func (s Signals) Stop() { signal.Stop(s) }

// PendingStop returns a stop signal that is already queued (0 if none).
func (s Signals) PendingStop() syscall.Signal {
	for {
		select {
		case got := <-s:
			if sig := got.(syscall.Signal); isStop(sig) {
				return sig
			}
		default:
			return 0
		}
	}
}

func isStop(s syscall.Signal) bool {
	return s == unix.SIGINT || s == unix.SIGTERM || s == unix.SIGHUP || s == unix.SIGQUIT
}

// abortPoll is how often a stop that arrived before the program started
// retries killing the container while runc is still creating it.
const abortPoll = 20 * time.Millisecond

// Run runs the container id from bundleDir with stdio passed through and
// returns the program's exit status (128+N when killed by signal N). A
// failure of the runtime before the program could start is an *ExitError
// with ExitToolError. The container is deleted before Run returns.
//
// Signals from sigs are forwarded to runc, which forwards them to the
// container's init. A stop signal that arrives before the program has
// started aborts the start instead: the container is killed (a signal
// sent to runc's own init, or to ours before its handlers exist, would be
// lost) and Run returns 128+N.
func (r *Runner) Run(id, bundleDir string, sigs Signals) (int, error) {
	pidFile := filepath.Join(bundleDir, "init.pid")
	args := r.globalArgs()
	args = append(args, "run", "--bundle", bundleDir, "--pid-file", pidFile, id)
	pid, done, err := r.start(args, bundleDir)
	if err != nil {
		return 0, err
	}

	// network: private: poll for the init's pid file, then start pasta;
	// pasta is killed on every way out of Run (deferred right here), and
	// pasta exiting early kills the container (netErr).
	var netPoll <-chan time.Time
	var netDeadline time.Time
	var pasta *pastaRun
	var pastaDone <-chan struct{}
	var netErr error
	if r.Pasta != nil {
		tick := time.NewTicker(pastaPoll)
		defer tick.Stop()
		netPoll, netDeadline = tick.C, time.Now().Add(pastaStartTimeout)
		defer func() {
			if pasta != nil {
				pasta.stop()
			}
		}()
	}

	var killTimer <-chan time.Time
	var aborted syscall.Signal
	var abortTick *time.Ticker
	var abortC <-chan time.Time
	var ws syscall.WaitStatus
	terminal := -1 // whether keyboard signals reach runc directly; probed on first need
loop:
	for {
		select {
		case ws = <-done:
			break loop
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			if isStop(s) && aborted == 0 && !programStarted(pidFile) {
				aborted = s
				abortTick = time.NewTicker(abortPoll)
				defer abortTick.Stop()
				abortC = abortTick.C
				if r.kill(id) {
					abortC = nil
				}
				continue
			}
			// Keyboard signals reach runc directly when we share the
			// terminal's foreground process group; forwarding them too
			// would deliver them twice.
			keyboard := s == unix.SIGINT || s == unix.SIGQUIT
			if keyboard && terminal < 0 {
				terminal = 0
				if inForegroundOfTerminal() {
					terminal = 1
				}
			}
			if !(keyboard && terminal == 1) {
				_ = syscall.Kill(pid, s)
			}
			if isStop(s) && killTimer == nil {
				killTimer = time.After(r.stopTimeout())
			}
		case <-abortC:
			if r.kill(id) {
				abortC = nil
			}
		case <-killTimer:
			// The container ignored the stop signal: kill all of it.
			r.kill(id)
			killTimer = nil
		case <-netPoll:
			started, err := r.Pasta.tryStart(pidFile, pid, filepath.Join(bundleDir, "pasta.log"))
			if err == nil && started == nil && time.Now().After(netDeadline) {
				err = fmt.Errorf("the container was not created within %v", pastaStartTimeout)
			}
			switch {
			case err != nil:
				netErr, netPoll = err, nil
				// If the kill fails, the init still never starts the
				// program: it waits for a route that will not come.
				r.kill(id)
			case started != nil:
				pasta, pastaDone, netPoll = started, started.exited, nil
			}
		case <-pastaDone:
			pastaDone = nil
			netErr = pasta.failure()
			r.kill(id)
		}
	}
	defer r.deleteIfLeft(id)
	if aborted != 0 {
		return exitSignalBase + int(aborted), nil
	}
	if netErr != nil {
		return 0, ToolError("%v", netErr)
	}

	if ws.Signaled() {
		// runc itself was killed; the container dies with it (runc's
		// init is its child and the pid namespace ends with it).
		return exitSignalBase + int(ws.Signal()), nil
	}
	status := ws.ExitStatus()
	if _, err := os.Stat(pidFile); errors.Is(err, fs.ErrNotExist) {
		// No pid file: the runtime failed before the container existed;
		// runc has printed its reason above.
		return 0, ToolError("the OCI runtime could not create the container (exit status %d; its message is above)", status)
	}
	return status, nil
}

// kill sends SIGKILL to container id's init, which takes every process of
// its pid namespace with it; false when the runtime has no such container
// (yet).
func (r *Runner) kill(id string) bool {
	if _, err := os.Stat(filepath.Join(r.Root, id, "state.json")); err != nil {
		return false
	}
	// No --all: it needs the container's cgroup, which rootless runs on
	// cgroup v1 do not have; killing the init ends its pid namespace.
	return exec.Command(r.Runtime, append(r.globalArgs(), "kill", id, "KILL")...).Run() == nil
}

// programStarted reports whether the container's init has started the
// program: the init then has a child. Before that, the init (runc's, then
// ours) may not yet handle signals.
func programStarted(pidFile string) bool {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid := strings.TrimSpace(string(data))
	// "children" lists the children of one thread: the init is a Go
	// program, whose fork may come from any of its threads.
	tasks, _ := os.ReadDir("/proc/" + pid + "/task")
	readable := false
	for _, t := range tasks {
		children, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		readable = true
		if len(strings.TrimSpace(string(children))) > 0 {
			return true
		}
	}
	if readable {
		return false
	}
	// "children" needs ptrace access, which a rootless caller may lack
	// for a process running as a subordinate id; /proc/*/stat does not.
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state ppid ...
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == pid {
				return true
			}
		}
	}
	return false
}

// start runs the runtime with args in dir, stdio passed straight through,
// and returns its pid and a channel that gets its wait status. It uses
// syscall.ForkExec rather than os/exec: os.StartProcess first forks a
// throw-away child to probe for CLONE_PIDFD, a process start on every
// run's critical path.
func (r *Runner) start(args []string, dir string) (int, <-chan syscall.WaitStatus, error) {
	pid, err := syscall.ForkExec(r.Runtime, append([]string{r.Runtime}, args...), &syscall.ProcAttr{
		Dir: dir, Env: os.Environ(), Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		return 0, nil, ToolError("cannot start %s: %v", r.Runtime, err)
	}
	done := make(chan syscall.WaitStatus, 1)
	go func() {
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
				break
			}
		}
		done <- ws
	}()
	return pid, done, nil
}

func (r *Runner) globalArgs() []string {
	args := []string{"--root", r.Root}
	if r.SystemdCgroup {
		args = append(args, "--systemd-cgroup")
	}
	return args
}

func (r *Runner) stopTimeout() time.Duration {
	if r.StopTimeout > 0 {
		return r.StopTimeout
	}
	return 10 * time.Second
}

// deleteIfLeft removes the runtime's state for id if `runc run` left any
// (it deletes its container itself on a normal exit; checking the state
// directory saves a runc process on that path).
func (r *Runner) deleteIfLeft(id string) {
	_ = r.DeleteIfPresent(id)
}

// DeleteIfPresent force-deletes container id (killing it if it still
// runs) when the runtime has state for it.
func (r *Runner) DeleteIfPresent(id string) error {
	if _, err := os.Stat(filepath.Join(r.Root, id)); err != nil {
		return nil
	}
	out, err := exec.Command(r.Runtime, append(r.globalArgs(), "delete", "--force", id)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s delete %s: %v: %s", r.Runtime, id, err, out)
	}
	return nil
}

// inForegroundOfTerminal reports whether safe-run's process group is the
// foreground group of a controlling terminal, i.e. whether Ctrl-C from
// that terminal reaches runc without our help.
func inForegroundOfTerminal() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
