package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProgramStarted reports whether the init whose pid runc wrote to pidFile
// has started the program (it has a child).
func ProgramStarted(pidFile string) bool { return programStarted(pidFile) }

// HasState reports whether the runtime has state for container id.
func (r *Runner) HasState(id string) bool {
	_, err := os.Stat(filepath.Join(r.Root, id, "state.json"))
	return err == nil
}

// Signal sends sig (a name such as TERM or SIGKILL, or a number) to
// container id's init, as `runc kill` does.
func (r *Runner) Signal(id, sig string) error {
	out, err := exec.Command(r.Runtime, append(r.globalArgs(), "kill", id, sig)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s kill %s %s: %v: %s", r.Runtime, id, sig, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs the process described by processFile (an OCI process JSON) in
// the running container id, with stdio passed through, and returns its
// exit status (128+N when killed by signal N). Signals from sigs are
// forwarded to runc, which forwards them to the process.
func (r *Runner) Exec(id, processFile string, sigs Signals) (int, error) {
	args := append(r.globalArgs(), "exec", "--process", processFile, id)
	pid, done, err := r.start(args, "/")
	if err != nil {
		return 0, err
	}
	terminal := inForegroundOfTerminal()
	for {
		select {
		case ws := <-done:
			if ws.Signaled() {
				return exitSignalBase + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			if (s == unix.SIGINT || s == unix.SIGQUIT) && terminal {
				continue // runc got it from the terminal already
			}
			_ = syscall.Kill(pid, s)
		}
	}
}
