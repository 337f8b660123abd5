package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

// The seccomp agent's two sessions: explain (`run --explain`) answers
// each refused syscall as the enforcing filter would and says why;
// record (`safe-run record`) lets them run and writes a profile fragment
// allowing them. Both see only syscalls the profile refuses: allowed ones
// are ALLOW rules in the kernel and never reach the agent.

// explainRequested reports whether --explain or SAFE_RUN_EXPLAIN asks for
// the explain session (the env var works for the shorthand too).
func explainRequested(c *cli.Context) bool {
	if c.Bool("explain") {
		return true
	}
	on, err := strconv.ParseBool(os.Getenv("SAFE_RUN_EXPLAIN"))
	return err == nil && on
}

// noHandoverHint explains a run that failed before the runtime handed
// the notify fd over, where the reason is known.
func noHandoverHint(rootless bool, what string) {
	if rootless {
		fmt.Fprintf(os.Stderr, "safe-run: %s: if the runtime's message above names SYS_PIDFD_GETFD: rootless runc 1.1 cannot hand "+
			"the seccomp notify fd to safe-run (pidfd_getfd on the container's non-dumpable init is refused), so %s needs a rootful run\n", what, what)
	}
}

// explainer is the explain session.
type explainer struct {
	ex       seccomp.Explainer
	rootless bool
	mu       sync.Mutex
	tally    seccomp.Tally
}

func explainSession(p *prepared) (agentSession, error) {
	e := &explainer{ex: seccomp.Explainer{Profile: p.resolved.Name, Policy: plan.SeccompPolicy(p.resolved, plan.Request{})},
		rootless: p.facts.Rootless}
	fmt.Fprintf(os.Stderr, "safe-run: explain: every syscall profile %q refuses is reported here and answered as the filter would\n", p.resolved.Name)
	return e, nil
}

func (e *explainer) handle(n *seccomp.Notification) seccomp.Response {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.ex.Explain(n)
	e.tally.Add(v.Key)
	who := ""
	if n.Comm != "" {
		who = fmt.Sprintf(" [%s, pid %d]", n.Comm, n.Pid)
	}
	fmt.Fprintf(os.Stderr, "safe-run: %s%s\n", v.Line(e.ex.Profile), who)
	return seccomp.Response{Errno: v.Errno}
}

func (e *explainer) finish(connected bool, serveErr error, _ int, runErr error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if serveErr != nil {
		fmt.Fprintf(os.Stderr, "safe-run: explain: %v (later refused syscalls failed with ENOSYS)\n", serveErr)
	}
	switch {
	case !connected && runErr == nil:
		fmt.Fprintln(os.Stderr, "safe-run: explain: the runtime never handed over the seccomp notify fd: nothing could be explained")
	case !connected:
		noHandoverHint(e.rootless, "--explain")
	case e.tally.Total() == 0:
		fmt.Fprintf(os.Stderr, "safe-run: explain: profile %q refused no syscall\n", e.ex.Profile)
	default:
		fmt.Fprintf(os.Stderr, "safe-run: explain: profile %q refused %d syscall(s):\n", e.ex.Profile, e.tally.Total())
		for _, l := range e.tally.Lines() {
			fmt.Fprintln(os.Stderr, "safe-run:   "+l)
		}
	}
	return nil
}

func recordCommand() *cli.Command {
	var flags []cli.Flag
	for _, f := range runFlags {
		if f.Names()[0] != "profile" {
			flags = append(flags, f)
		}
	}
	flags = append(flags, &cli.StringFlag{Name: "output", Aliases: []string{"o"},
		Usage: "write the fragment to `FILE` (created; never overwritten) instead of standard output", Category: "Output"})
	return &cli.Command{
		Name:      "record",
		Usage:     "run a command with the syscalls its profile refuses let through, and write a profile allowing them",
		ArgsUsage: "PROFILE [-o FILE] [-- COMMAND [ARG...]]",
		Description: `Runs COMMAND (or the profile's command) like "run", with every other
control of PROFILE in force, but the seccomp filter hands each syscall
PROFILE refuses to safe-run, which lets it run and counts it. At exit a
profile fragment is written that extends PROFILE and allows what was seen:
syscalls (grouped, with counts), namespaces and socket families.

WARNING: while recording, the program runs with those syscalls allowed.
Record only programs you trust, on inputs you trust. TIOCSTI/TIOCLINUX
ioctls and unsafe personalities stay refused (no profile can allow them).

Only the code paths the run exercises are seen: exercise the program
fully, then check the result with "safe-run run --explain".

Examples:
   safe-run record default -o myapp.yaml -- myapp --selftest
   safe-run --profile-dir . run --profile myapp -- myapp`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			ref, output, args, err := recordArgs(c)
			if err != nil {
				return err
			}
			if output != "" {
				if _, err := os.Lstat(output); err == nil {
					return runtime.ToolError("--output %s already exists: record never overwrites a file; choose another name", output)
				}
			}
			return runProfile(c, ref, args, runOptions{agent: func(p *prepared) (agentSession, error) {
				return newRecordSession(p, ref, output)
			}})
		},
	}
}

// recordArgs parses PROFILE [-o FILE] [-- COMMAND...] (flags after
// PROFILE are not parsed by the cli package).
func recordArgs(c *cli.Context) (ref, output string, args []string, err error) {
	rest := c.Args().Slice()
	if len(rest) == 0 || rest[0] == "--" {
		return "", "", nil, runtime.ToolError("record: name the profile to record against: safe-run record PROFILE [-o FILE] [-- COMMAND...]")
	}
	ref, rest = rest[0], rest[1:]
	output = c.String("output")
	for len(rest) > 0 {
		a := rest[0]
		switch {
		case a == "--":
			return ref, output, rest[1:], nil
		case a == "-o" || a == "--output":
			if len(rest) < 2 {
				return "", "", nil, runtime.ToolError("record: %s needs a FILE", a)
			}
			output, rest = rest[1], rest[2:]
		case strings.HasPrefix(a, "--output=") || strings.HasPrefix(a, "-o="):
			_, output, _ = strings.Cut(a, "=")
			rest = rest[1:]
		case strings.HasPrefix(a, "-"):
			return "", "", nil, runtime.ToolError("record: unknown flag %s after the profile: put run flags before PROFILE", a)
		default:
			return ref, output, rest, nil // the command without "--"
		}
	}
	return ref, output, nil, nil
}

// recorder is the record session.
type recorder struct {
	rec      *seccomp.Recorder
	info     seccomp.FragmentInfo
	output   string
	rootless bool
}

func newRecordSession(p *prepared, ref, output string) (agentSession, error) {
	r := p.resolved
	extends := ref
	if profile.IsPath(ref) {
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, runtime.ToolError("%v", err)
		}
		extends = abs
	}
	info := seccomp.FragmentInfo{
		Extends: extends, Profile: r.Name, Command: shellJoin(os.Args),
		Arch: string(seccomp.NativeArch()), Namespaces: r.Seccomp.Namespaces, SelfSandbox: r.Seccomp.SelfSandbox,
	}
	if r.Seccomp.SocketFamilies != nil {
		info.Families = append([]string{}, r.Seccomp.SocketFamilies...)
	}
	fmt.Fprintf(os.Stderr, "safe-run: warning: record lets every syscall profile %q refuses run (except TIOCSTI/TIOCLINUX ioctls and unsafe personalities): "+
		"the program runs with a weaker filter; record only programs you trust\n", r.Name)
	return &recorder{rec: &seccomp.Recorder{Policy: plan.SeccompPolicy(r, plan.Request{})}, info: info, output: output,
		rootless: p.facts.Rootless}, nil
}

func (r *recorder) handle(n *seccomp.Notification) seccomp.Response { return r.rec.Handle(n) }

func (r *recorder) finish(connected bool, serveErr error, status int, runErr error) error {
	if serveErr != nil {
		fmt.Fprintf(os.Stderr, "safe-run: record: %v (the recording is incomplete)\n", serveErr)
	}
	if !connected {
		if runErr != nil {
			noHandoverHint(r.rootless, "record")
			return nil // the run failed before the filter existed: nothing to write
		}
		return runtime.ToolError("record: the runtime never handed over the seccomp notify fd: nothing was recorded")
	}
	r.info.Date = time.Now()
	switch {
	case runErr != nil:
		r.info.Status = "an error of safe-run (" + runErr.Error() + ")"
	case status > 128:
		r.info.Status = fmt.Sprintf("exit status %d (killed by signal %d?)", status, status-128)
	default:
		r.info.Status = fmt.Sprintf("exit status %d", status)
	}
	frag := r.rec.Fragment(r.info, func(name string) error { return seccomp.CheckName(name, seccomp.NativeArch()) })
	if r.output == "" {
		_, err := os.Stdout.WriteString(frag)
		return err
	}
	f, err := os.OpenFile(r.output, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		os.Stdout.WriteString(frag) // do not lose the recording
		if errors.Is(err, fs.ErrExist) {
			return runtime.ToolError("record: %s appeared during the run; not overwritten: the fragment is on standard output", r.output)
		}
		return runtime.ToolError("record: %v: the fragment is on standard output", err)
	}
	if _, err := f.WriteString(frag); err != nil {
		f.Close()
		return runtime.ToolError("record: %v", err)
	}
	if err := f.Close(); err != nil {
		return runtime.ToolError("record: %v", err)
	}
	fmt.Fprintf(os.Stderr, "safe-run: record: %d refused syscall(s) recorded; profile fragment written to %s\n", r.rec.Total(), r.output)
	return nil
}

// shellJoin writes args as a shell command line (for the fragment's
// header).
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	if len(out) > 0 {
		out[0] = filepath.Base(out[0])
	}
	return strings.Join(out, " ")
}
