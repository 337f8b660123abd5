package runtime

import "fmt"

// Exit codes, as docker run uses them, so scripts can tell safe-run's own
// failures from the program's.
const (
	// ExitToolError: safe-run itself failed (bad profile or flag, the
	// runtime failed, a control could not be verified).
	ExitToolError = 125
	// ExitCannotInvoke: the command exists but cannot be executed.
	ExitCannotInvoke = 126
	// ExitNotFound: the command was not found in the container.
	ExitNotFound = 127
	// exitSignalBase + N is the status of a program killed by signal N.
	exitSignalBase = 128
)

// ExitError carries an exit code out of a command; the CLI prints Msg
// (when set) as one line and exits with Code.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode implements urfave/cli's ExitCoder.
func (e *ExitError) ExitCode() int { return e.Code }

// ToolError is a safe-run failure (exit 125).
func ToolError(format string, args ...any) *ExitError {
	return &ExitError{Code: ExitToolError, Msg: fmt.Sprintf(format, args...)}
}
