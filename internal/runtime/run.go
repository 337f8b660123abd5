package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
}

// Why safe-run waits for `runc run` instead of exec'ing it: cleanup of the
// bundle on every path, and telling the runtime's own failures (exit 125)
// from the program's exit status. Why `runc run` rather than create/start:
// runc loads the seccomp filter only after `runc start`, right before
// execve, so a host-side check between the two cannot see it; safe-run-init
// checks every control from inside instead (cmd/safe-run-init), which
// leaves no reason to pay for three runc processes instead of one.

// Run runs the container id from bundleDir with stdio passed through and
// returns the program's exit status (128+N when killed by signal N). A
// failure of the runtime before the program could start is an *ExitError
// with ExitToolError. The container is deleted before Run returns.
func (r *Runner) Run(id, bundleDir string) (int, error) {
	pidFile := filepath.Join(bundleDir, "init.pid")
	args := r.globalArgs()
	args = append(args, "run", "--bundle", bundleDir, "--pid-file", pidFile, id)
	cmd := exec.Command(r.Runtime, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Dir = bundleDir

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		return 0, ToolError("cannot start %s: %v", r.Runtime, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	terminalSignals := inForegroundOfTerminal()
	var killTimer <-chan time.Time
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			// Keyboard signals reach runc directly when we share the
			// terminal's foreground process group; forwarding them too
			// would deliver them twice.
			if !(terminalSignals && (s == unix.SIGINT || s == unix.SIGQUIT)) {
				_ = cmd.Process.Signal(s)
			}
			if (s == unix.SIGINT || s == unix.SIGTERM || s == unix.SIGHUP) && killTimer == nil {
				killTimer = time.After(r.stopTimeout())
			}
		case <-killTimer:
			// The container ignored the stop signal: kill all of it.
			_ = exec.Command(r.Runtime, append(r.globalArgs(), "kill", "--all", id, "KILL")...).Run()
			killTimer = nil
		}
	}
	defer r.deleteIfLeft(id)

	status := 0
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return 0, ToolError("waiting for %s: %v", r.Runtime, waitErr)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			// runc itself was killed; the container dies with it (runc's
			// init is its child and the pid namespace ends with it).
			return exitSignalBase + int(ws.Signal()), nil
		}
		status = ws.ExitStatus()
	}
	if _, err := os.Stat(pidFile); errors.Is(err, fs.ErrNotExist) {
		// No pid file: the runtime failed before the container existed;
		// runc has printed its reason above.
		return 0, ToolError("the OCI runtime could not create the container (exit status %d; its message is above)", status)
	}
	return status, nil
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
