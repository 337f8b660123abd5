// Command safe-run-init is the PID 1 that safe-run puts in every container.
//
// runc bind-mounts this static binary read-only at /dev/.safe-run-init and
// starts it as the container's init, already inside all namespaces, with
// capabilities dropped, no_new_privs set and the seccomp filter loaded. It
// does two things:
//
//  1. It verifies from the inside that every security control safe-run
//     asked for is really in force, and refuses to run the program (exit
//
//  125. when one is not. This has to happen here rather than in safe-run:
//     runc loads the seccomp filter after `runc create` has returned, right
//     before it execs the init, so nothing outside the container can observe
//     the finished state; and checking the process that will actually fork
//     the program covers runc bugs, kernel quirks and misconfigured hosts
//     alike. Any doubt (an unreadable file, an unknown format) fails closed.
//
//  2. It runs the program as its child and acts as a minimal init: it
//     forwards signals, reaps zombies and exits with the program's status.
//
// Usage:
//
//	safe-run-init [--check KEY=VALUE]... -- PROGRAM [ARGS...]
//
// Exit status: the program's; 125 when safe-run-init itself fails or a
// check fails, 126 when the program cannot be executed, 127 when it is not
// found, 128+N when it is killed by signal N.
//
// The binary must stay static (CGO_ENABLED=0) and small: it runs in root
// filesystems that may have no libc at all, and it starts on every run.
package main

import (
	"errors"
	"io"
	"os"
	"strings"
)

// Exit codes, following the shell and docker conventions.
const (
	exitInternal   = 125 // safe-run-init failed, or a control is not in force
	exitCannotExec = 126 // the program was found but cannot be executed
	exitNotFound   = 127 // the program was not found
)

const usage = "usage: safe-run-init [--check KEY=VALUE]... -- PROGRAM [ARGS...]"

func main() {
	sig := subscribe() // before anything else: see subscription
	os.Exit(run(os.Args[1:], newChecker(), sig, os.Stderr))
}

// run is the whole of safe-run-init minus os.Exit, for tests.
func run(args []string, c *checker, sig *subscription, stderr io.Writer) int {
	sp, argv, err := parseArgs(args)
	if err != nil {
		io.WriteString(stderr, "safe-run-init: "+err.Error()+"\n")
		return exitInternal
	}
	if failures := c.verify(sp); len(failures) > 0 {
		// One line per control that is not in force, then refuse: the
		// program must never start without the isolation it was promised.
		var b strings.Builder
		for _, f := range failures {
			b.WriteString("safe-run: refusing to run: " + f + "\n")
		}
		io.WriteString(stderr, b.String())
		return exitInternal
	}
	if sp.net {
		// After the checks, so that a missing control is reported at
		// once; before the program, which must find its network ready.
		code, f := c.waitNetwork(func() (int, bool) { return pendingStop(sig) })
		if f != "" {
			io.WriteString(stderr, "safe-run: refusing to run: "+f+"\n")
			return exitInternal
		}
		if code != 0 {
			return code
		}
	}
	return runProgram(argv, c, sig, stderr)
}

// parseArgs splits the command line into the checks and the program's argv.
func parseArgs(args []string) (*spec, []string, error) {
	sp := &spec{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			argv := args[i+1:]
			if len(argv) == 0 || argv[0] == "" {
				return nil, nil, errors.New("no program given after \"--\"; " + usage)
			}
			return sp, argv, nil
		case a == "--check":
			if i+1 >= len(args) {
				return nil, nil, errors.New("--check needs KEY=VALUE; " + usage)
			}
			i++
			if err := sp.parse(args[i]); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(a, "--check="):
			if err := sp.parse(strings.TrimPrefix(a, "--check=")); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, errors.New("unexpected argument " + quote(a) + "; " + usage)
		}
	}
	return nil, nil, errors.New("missing \"--\" before the program; " + usage)
}
