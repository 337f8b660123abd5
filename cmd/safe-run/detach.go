package main

// Detached containers (`safe-run run -d`): the launching safe-run prepares
// the container exactly as a foreground run does, then re-executes itself
// as a small supervisor (`safe-run __supervise STATE ID`) in a session of
// its own. The supervisor owns the bundle (its pid is in the owner file),
// runs `runc run` through the same runtime.Runner as the foreground path,
// appends the container's output to <bundle>/log, records the exit status
// in <bundle>/status and removes the container only with --rm. The
// launcher waits until the program has started (bounded), prints the id
// and exits. docs/detach.md describes the commands built on this.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/label"
	"github.com/safe-run/safe-run/internal/runtime"
)

const (
	// superviseCmd is the hidden command the supervisor runs as.
	superviseCmd = "__supervise"
	// metaFile marks a detached container's bundle and records what the
	// supervisor and the container commands need.
	metaFile = "detached.json"
	// detachStartTimeout bounds how long `run -d` waits for the program
	// to start (the runtime, pasta, the init's checks).
	detachStartTimeout = 60 * time.Second
	// imageLockFd is where the supervisor finds the image tree's lock.
	imageLockFd = 3
)

// detachMeta is <bundle>/detached.json.
type detachMeta struct {
	ID            string         `json:"id"`
	Created       time.Time      `json:"created"`
	Command       []string       `json:"command"`
	Profile       string         `json:"profile,omitempty"`
	Image         string         `json:"image,omitempty"`
	AutoRemove    bool           `json:"autoRemove"`
	Runtime       string         `json:"runtime"`
	SystemdCgroup bool           `json:"systemdCgroup,omitempty"`
	StopTimeout   time.Duration  `json:"stopTimeout,omitempty"`
	Pasta         *runtime.Pasta `json:"pasta,omitempty"`
	ImageLock     bool           `json:"imageLock,omitempty"`
}

func readMeta(b *bundle.Bundle) (*detachMeta, error) {
	data, err := os.ReadFile(filepath.Join(b.Dir, metaFile))
	if err != nil {
		return nil, err
	}
	var m detachMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(b.Dir, metaFile), err)
	}
	return &m, nil
}

// runner is the runtime.Runner the supervisor runs the container with.
func (m *detachMeta) runner(state *bundle.Root) *runtime.Runner {
	return &runtime.Runner{Runtime: m.Runtime, Root: state.RuncRoot(), SystemdCgroup: m.SystemdCgroup,
		StopTimeout: m.StopTimeout, Pasta: m.Pasta}
}

// detachAllowed refuses what a detached container cannot have.
func detachAllowed(c *cli.Context, o runOptions) error {
	if o.agent != nil {
		return runtime.ToolError("-d/--detach cannot be combined with --explain or record: they report to the terminal while the program runs; run in the foreground")
	}
	if c.Bool("tty") {
		return runtime.ToolError("-d/--detach with -t: a detached container has no terminal; drop -t (for a shell in it: safe-run exec -it ID sh)")
	}
	return nil
}

// startDetached hands the prepared bundle b to a supervisor and waits
// until the program has started. On success *keep is set: the bundle and
// the label reservation belong to the supervisor from then on.
func startDetached(c *cli.Context, p *prepared, b *bundle.Bundle, runner *runtime.Runner, ir *imageRun, sigs runtime.Signals, keep *bool) error {
	m := detachMeta{ID: p.id, Created: time.Now().UTC(), Command: programArgs(p.plan.Spec.Process.Args),
		Profile: p.resolved.Name, AutoRemove: c.Bool("rm"), Runtime: runner.Runtime,
		SystemdCgroup: runner.SystemdCgroup, StopTimeout: runner.StopTimeout, Pasta: runner.Pasta}
	var lock *os.File
	if ir != nil {
		// The image tree must outlive this process: the supervisor
		// inherits a shared lock on it (as store.Use holds one here).
		var err error
		if lock, err = lockTree(ir.dir); err != nil {
			return runtime.ToolError("image tree %s: %v", ir.dir, err)
		}
		defer lock.Close()
		m.Image, m.ImageLock = c.Args().First(), true
	}
	data, err := json.Marshal(m)
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	if err := b.WriteFile(metaFile, append(data, '\n'), 0o600); err != nil {
		return runtime.ToolError("%v", err)
	}
	logW, err := b.CreateLog()
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	defer logW.Close()
	// Kept open to report a failed start even when --rm removed the log.
	logR, err := os.Open(b.LogPath())
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	defer logR.Close()
	if p.labels.Mount != "" {
		// The container writes its output to the log through the fds it
		// inherits: under SELinux its domain needs the file's label.
		if err := (label.GoSELinux{}).Relabel(b.LogPath(), p.labels.Mount, false); err != nil {
			return runtime.ToolError("selinux: labelling %s: %v", b.LogPath(), err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return runtime.ToolError("cannot find the safe-run binary to start the supervisor: %v", err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	defer devnull.Close()
	cmd := exec.Command(exe, superviseCmd, p.state.Dir, p.id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logW, logW
	cmd.Dir = "/" // never pin the caller's directory
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if lock != nil {
		cmd.ExtraFiles = []*os.File{lock} // fd 3 (imageLockFd)
	}
	if err := cmd.Start(); err != nil {
		return runtime.ToolError("cannot start the supervisor: %v", err)
	}
	exited := make(chan int, 1)
	go func() {
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode() // -1: killed by a signal
		exited <- code
	}()

	pidFile := filepath.Join(b.Dir, "init.pid")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(detachStartTimeout)
	defer deadline.Stop()
	var stopped syscall.Signal
	timedOut := false
	var code int
wait:
	for {
		select {
		case code = <-exited:
			break wait
		case <-tick.C:
			if stopped == 0 && !timedOut && runtime.ProgramStarted(pidFile) {
				*keep = true
				fmt.Println(p.id)
				return nil
			}
		case s := <-sigs:
			// Stopped before the program started: the supervisor aborts
			// the start (runtime.Runner.Run), then we clean up.
			if sig := s.(syscall.Signal); stopped == 0 && sig != unix.SIGUSR1 && sig != unix.SIGUSR2 {
				stopped = sig
				_ = cmd.Process.Signal(unix.SIGTERM)
			}
		case <-deadline.C:
			if timedOut {
				_ = cmd.Process.Kill()
				continue
			}
			timedOut = true
			_ = cmd.Process.Signal(unix.SIGTERM)
			deadline.Reset(15 * time.Second)
		}
	}
	switch {
	case stopped != 0:
		_ = runner.DeleteIfPresent(p.id)
		return &runtime.ExitError{Code: 128 + int(stopped)}
	case timedOut:
		_ = runner.DeleteIfPresent(p.id)
		return runtime.ToolError("the container did not start within %v%s", detachStartTimeout, logTail(logR))
	case code == runtime.ExitToolError || code < 0:
		// The runtime failed, or the init refused to start the program
		// (a control missing): nothing ran, nothing is kept.
		_ = runner.DeleteIfPresent(p.id)
		return runtime.ToolError("the container did not start%s", logTail(logR))
	}
	// The program ran and already exited: as docker, print the id; its
	// status is in `safe-run ps -a` (unless --rm removed it).
	*keep = true
	fmt.Println(p.id)
	return nil
}

// lockTree opens dir and takes a shared flock on it, as image.Store.Use
// does: garbage collection leaves a locked tree alone.
func lockTree(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// logTail returns the end of the log f (up to 20 lines), indented, for an
// error message; "" when it is empty.
func logTail(f *os.File) string {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return ""
	}
	const max = 4096
	off := int64(0)
	if fi.Size() > max {
		off = fi.Size() - max
	}
	buf := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:n]), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "; the end of its log:\n  " + strings.Join(lines, "\n  ")
}

// programArgs returns the program's argv from the init's command line
// (safe-run-init [--check KEY=VALUE]... -- PROGRAM [ARGS...]).
func programArgs(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return args[i+1:]
		}
	}
	return args
}

// initChecks returns the --check values the init verifies.
func initChecks(args []string) []string {
	var out []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return out
		case a == "--check" && i+1 < len(args):
			out = append(out, args[i+1])
			i++
		case strings.HasPrefix(a, "--check="):
			out = append(out, strings.TrimPrefix(a, "--check="))
		}
	}
	return out
}

func superviseCommand() *cli.Command {
	return &cli.Command{
		Name:            superviseCmd,
		Hidden:          true,
		HideHelp:        true,
		SkipFlagParsing: true,
		Usage:           "(internal) supervise a detached container",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return runtime.ToolError("usage: safe-run %s STATE-DIR ID (started by safe-run run -d)", superviseCmd)
			}
			return supervise(c.Args().Get(0), c.Args().Get(1))
		},
	}
}

// supervise runs detached container id of the state root stateDir. Its
// stdout and stderr are the container's log; it exits with the
// container's status (125: the container could not be started).
func supervise(stateDir, id string) error {
	state, err := bundle.Open(stateDir)
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	b := state.Bundle(id)
	m, err := readMeta(b)
	if err != nil {
		return runtime.ToolError("not a detached container: %v", err)
	}
	if m.ImageLock {
		// Held for the container's life, but not by runc or pasta.
		unix.CloseOnExec(imageLockFd)
	}
	sigs := runtime.Subscribe()
	defer sigs.Stop()
	if err := b.MarkOwner(); err != nil {
		_ = b.WriteStatus(runtime.ExitToolError, err.Error())
		return runtime.ToolError("%v", err)
	}
	status, err := m.runner(state).Run(id, b.Dir, sigs)
	msg := ""
	if err != nil {
		status = runtime.ExitToolError
		var ee *runtime.ExitError
		if errors.As(err, &ee) {
			status = ee.Code
		}
		msg = err.Error()
		fmt.Fprintln(os.Stderr, "safe-run: "+msg)
	}
	if err := b.WriteStatus(status, msg); err != nil {
		fmt.Fprintln(os.Stderr, "safe-run: recording the exit status: "+err.Error())
	}
	if m.AutoRemove {
		if err := removeBundle(state, b); err != nil {
			fmt.Fprintln(os.Stderr, "safe-run: cleanup: "+err.Error())
		}
	}
	if status != 0 {
		return &runtime.ExitError{Code: status}
	}
	return nil
}

// removeBundle removes a container that no longer runs: its bundle and
// its SELinux label reservation (runc's state is gone already).
func removeBundle(state *bundle.Root, b *bundle.Bundle) error {
	err := b.Remove()
	_ = labelAllocator(state).Release(b.ID, label.Labels{})
	return err
}

// copyLog copies what f holds beyond its offset to w.
func copyLog(w io.Writer, f *os.File) {
	_, _ = io.Copy(w, f)
}
