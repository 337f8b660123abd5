package main

// The container commands: ps, logs, stop, kill, rm, exec, inspect. They
// work on the bundles of the state root; detached containers (run -d) are
// described in detach.go and docs/detach.md.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/spec"
)

// Container states.
const (
	stateCreated = "created" // being set up, or the program not started yet
	stateRunning = "running"
	stateExited  = "exited" // a detached container waiting for rm
	stateDead    = "dead"   // its owner (safe-run or supervisor) died without recording an exit
)

// container is what the commands know about one bundle.
type container struct {
	ID       string
	b        *bundle.Bundle
	meta     *detachMeta // nil: run in the foreground
	spec     *specs.Spec
	State    string
	Pid      int // the init's pid (host view) while running
	Owner    int // the owning safe-run (supervisor) pid, when alive
	ExitCode int
	Error    string
	Finished time.Time
	Created  time.Time
}

func (ct *container) running() bool { return ct.State == stateRunning || ct.State == stateCreated }

func loadContainer(state *bundle.Root, id string) (*container, error) {
	b := state.Bundle(id)
	fi, err := os.Stat(b.Dir)
	if err != nil {
		return nil, runtime.ToolError("no such container: %s", id)
	}
	ct := &container{ID: id, b: b, Created: fi.ModTime()}
	if m, err := readMeta(b); err == nil {
		ct.meta, ct.Created = m, m.Created
	}
	if data, err := os.ReadFile(filepath.Join(b.Dir, "config.json")); err == nil {
		var s specs.Spec
		if json.Unmarshal(data, &s) == nil {
			ct.spec = &s
		}
	}
	owner, alive := b.Owner()
	code, msg, finished, exited := b.ReadStatus()
	switch {
	case exited:
		ct.State, ct.ExitCode, ct.Error, ct.Finished = stateExited, code, msg, finished
	case alive:
		ct.Owner = owner
		ct.State = stateCreated
		if data, err := os.ReadFile(filepath.Join(b.Dir, "init.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				ct.State, ct.Pid = stateRunning, pid
			}
		}
	case !b.HasOwnerFile() && time.Since(fi.ModTime()) < gcGrace:
		ct.State = stateCreated
	default:
		ct.State = stateDead
	}
	return ct, nil
}

// findContainer resolves ref: a container id (its --name), or a prefix
// of exactly one.
func findContainer(state *bundle.Root, ref string) (*container, error) {
	if ref == "" || strings.ContainsAny(ref, "/\x00") || ref == "." || ref == ".." {
		return nil, runtime.ToolError("invalid container id %q", ref)
	}
	if _, err := os.Stat(state.Bundle(ref).Dir); err == nil {
		return loadContainer(state, ref)
	}
	ids, err := state.List()
	if err != nil {
		return nil, runtime.ToolError("%v", err)
	}
	var match []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return nil, runtime.ToolError("no such container: %s (see safe-run ps -a)", ref)
	case 1:
		return loadContainer(state, match[0])
	}
	return nil, runtime.ToolError("%q names %d containers (%s): give more of the id", ref, len(match), strings.Join(match, ", "))
}

// runnerFor is the runtime.Runner that controls ct.
func runnerFor(c *cli.Context, state *bundle.Root, ct *container) (*runtime.Runner, error) {
	if ct.meta != nil {
		return ct.meta.runner(state), nil
	}
	rt, err := runtime.Find(c.String("runtime"))
	if err != nil {
		return nil, err
	}
	r := &runtime.Runner{Runtime: rt, Root: state.RuncRoot()}
	if ct.spec != nil && ct.spec.Linux != nil {
		r.SystemdCgroup = strings.Count(ct.spec.Linux.CgroupsPath, ":") == 2 // slice:prefix:name
	}
	return r, nil
}

func openState(c *cli.Context) (*bundle.Root, error) {
	state, err := bundle.Open(stateDir(c))
	if err != nil {
		return nil, runtime.ToolError("%v", err)
	}
	return state, nil
}

// forEach runs fn on each container named by the arguments, printing
// each failure; it fails (125) if any did, as docker does.
func forEach(c *cli.Context, fn func(state *bundle.Root, ct *container) error) error {
	if c.NArg() == 0 {
		return runtime.ToolError("%s needs at least one container id or name", c.Command.Name)
	}
	state, err := openState(c)
	if err != nil {
		return err
	}
	failed := 0
	for _, ref := range c.Args().Slice() {
		ct, err := findContainer(state, ref)
		if err == nil {
			err = fn(state, ct)
		}
		if err != nil {
			failed++
			fmt.Fprintln(os.Stderr, "safe-run: "+err.Error())
		}
	}
	if failed > 0 {
		return &runtime.ExitError{Code: runtime.ExitToolError}
	}
	return nil
}

// waitUntil polls cond every 50ms for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// stopped reports whether container id no longer runs (or is gone).
func stopped(state *bundle.Root, id string) bool {
	ct, err := loadContainer(state, id)
	return err != nil || !ct.running()
}

// ownerGone reports whether nothing owns container id any more (its
// supervisor or foreground safe-run has exited, or it is gone).
func ownerGone(state *bundle.Root, id string) bool {
	b := state.Bundle(id)
	if _, err := os.Stat(b.Dir); err != nil {
		return true
	}
	_, alive := b.Owner()
	return !alive
}

// killWait is how long stop, kill and rm -f wait for a killed container.
const killWait = 30 * time.Second

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list containers (running ones; -a: also exited ones)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show exited containers too"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print the ids only"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			state, err := openState(c)
			if err != nil {
				return err
			}
			ids, err := state.List()
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			var list []*container
			for _, id := range ids {
				ct, err := loadContainer(state, id)
				if err != nil || (!c.Bool("all") && !ct.running()) {
					continue
				}
				list = append(list, ct)
			}
			sort.SliceStable(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
			if c.Bool("json") {
				out := []map[string]any{}
				for _, ct := range list {
					out = append(out, ct.summary())
				}
				return printJSON(out)
			}
			if c.Bool("quiet") {
				for _, ct := range list {
					fmt.Println(ct.ID)
				}
				return nil
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS")
			now := time.Now()
			for _, ct := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s ago\t%s\n", ct.ID, ct.image(), shortCommand(ct.command()),
					humanDuration(now.Sub(ct.Created)), ct.status(now))
			}
			return w.Flush()
		},
	}
}

func (ct *container) command() []string {
	if ct.meta != nil {
		return ct.meta.Command
	}
	if ct.spec != nil && ct.spec.Process != nil {
		return programArgs(ct.spec.Process.Args)
	}
	return nil
}

func (ct *container) image() string {
	switch {
	case ct.meta != nil && ct.meta.Image != "":
		return ct.meta.Image
	case ct.meta != nil && ct.meta.Profile != "":
		return "profile:" + ct.meta.Profile
	}
	return "-"
}

// status is ps's STATUS column.
func (ct *container) status(now time.Time) string {
	switch ct.State {
	case stateRunning:
		s := "Up " + humanDuration(now.Sub(ct.Created))
		if ct.meta == nil {
			s += " (foreground)"
		}
		return s
	case stateExited:
		return fmt.Sprintf("Exited (%d) %s ago", ct.ExitCode, humanDuration(now.Sub(ct.Finished)))
	case stateDead:
		return "Dead"
	}
	return "Created"
}

func (ct *container) summary() map[string]any {
	m := map[string]any{"id": ct.ID, "name": ct.ID, "image": ct.image(), "command": ct.command(),
		"state": ct.State, "status": ct.status(time.Now()), "created": ct.Created.UTC(), "detached": ct.meta != nil}
	if ct.Pid != 0 {
		m["pid"] = ct.Pid
	}
	if ct.State == stateExited {
		m["exitCode"] = ct.ExitCode
		m["finished"] = ct.Finished.UTC()
	}
	return m
}

func shortCommand(args []string) string {
	var parts []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"\\$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	s := strings.Join(parts, " ")
	if r := []rune(s); len(r) > 30 {
		s = string(r[:29]) + "…"
	}
	return `"` + s + `"`
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "Less than a second"
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a detached container's output (-f: follow it until the container exits)",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new output until the container exits"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return runtime.ToolError("logs needs one container id or name")
			}
			state, err := openState(c)
			if err != nil {
				return err
			}
			ct, err := findContainer(state, c.Args().First())
			if err != nil {
				return err
			}
			if ct.meta == nil {
				return runtime.ToolError("%s runs in the foreground: its output goes to the terminal of its safe-run; only detached containers (run -d) have a log", ct.ID)
			}
			f, err := os.Open(ct.b.LogPath())
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			defer f.Close()
			copyLog(os.Stdout, f)
			if !c.Bool("follow") {
				return nil
			}
			for {
				// Check first, then copy: everything written before the
				// container exited is printed.
				done := stopped(state, ct.ID)
				copyLog(os.Stdout, f)
				if done {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
		},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop containers: SIGTERM, then SIGKILL after a timeout",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: -1, Usage: "`SECONDS` to wait before killing (default: the container's --stop-timeout, or 10)"}},
		Action: func(c *cli.Context) error {
			return forEach(c, func(state *bundle.Root, ct *container) error {
				if ct.running() {
					runner, err := runnerFor(c, state, ct)
					if err != nil {
						return err
					}
					timeout := 10 * time.Second
					if ct.meta != nil && ct.meta.StopTimeout > 0 {
						timeout = ct.meta.StopTimeout
					}
					if t := c.Int("time"); t >= 0 {
						timeout = time.Duration(t) * time.Second
					}
					_ = runner.Signal(ct.ID, "TERM")
					if !waitUntil(timeout, func() bool { return stopped(state, ct.ID) }) {
						_ = runner.Signal(ct.ID, "KILL")
						if !waitUntil(killWait, func() bool { return stopped(state, ct.ID) }) {
							return runtime.ToolError("%s: still running %v after SIGKILL", ct.ID, killWait)
						}
					}
				}
				fmt.Println(ct.ID)
				return nil
			})
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to containers (default SIGKILL)",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "`SIGNAL` name or number"}},
		Action: func(c *cli.Context) error {
			return forEach(c, func(state *bundle.Root, ct *container) error {
				if !ct.running() {
					return runtime.ToolError("container %s is not running", ct.ID)
				}
				runner, err := runnerFor(c, state, ct)
				if err != nil {
					return err
				}
				if err := runner.Signal(ct.ID, c.String("signal")); err != nil {
					return runtime.ToolError("%v", err)
				}
				fmt.Println(ct.ID)
				return nil
			})
		},
	}
}

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove exited containers (-f: kill running ones first)",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container, then remove it"}},
		Action: func(c *cli.Context) error {
			return forEach(c, func(state *bundle.Root, ct *container) error {
				runner, err := runnerFor(c, state, ct)
				if err != nil {
					return err
				}
				if ct.running() {
					if !c.Bool("force") {
						return runtime.ToolError("container %s is running: stop it first (safe-run stop %[1]s) or remove it with -f", ct.ID)
					}
					_ = runner.Signal(ct.ID, "KILL")
					if !waitUntil(killWait, func() bool { return ownerGone(state, ct.ID) }) {
						return runtime.ToolError("%s: its safe-run is still running %v after SIGKILL", ct.ID, killWait)
					}
				} else if ct.State == stateExited && !waitUntil(killWait, func() bool { return ownerGone(state, ct.ID) }) {
					return runtime.ToolError("%s: its supervisor has not exited", ct.ID)
				}
				// A foreground safe-run removed its own bundle; anything
				// else (exited, dead, killed detached) is removed here.
				if _, err := os.Stat(ct.b.Dir); err == nil {
					if err := runner.DeleteIfPresent(ct.ID); err != nil {
						return runtime.ToolError("%v", err)
					}
					if err := removeBundle(state, ct.b); err != nil {
						return runtime.ToolError("%v", err)
					}
				}
				fmt.Println(ct.ID)
				return nil
			})
		},
	}
}

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command in a running container, with the container's own restrictions",
		ArgsUsage: "ID COMMAND [ARG...]",
		Description: `The command runs with the container's process settings: the same user,
capabilities (none by default), no_new_privs, rlimits, SELinux label and
environment; runc applies the container's seccomp filter to it. Nothing
can be added: --privileged and --cap-add are refused.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open (always on)"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the command a terminal (stdin must be one)"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` (or pass NAME from your environment)"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`UID[:GID]` (numeric; not root unless the container runs as root)"},
			&cli.BoolFlag{Name: "privileged", Hidden: true},
			&cli.StringSliceFlag{Name: "cap-add", Hidden: true},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Hidden: true},
		},
		Action: func(c *cli.Context) error {
			switch {
			case c.Bool("privileged"):
				return runtime.ToolError("exec --privileged: refused: an exec'd command gets exactly the container's restrictions, never more")
			case c.IsSet("cap-add"):
				return runtime.ToolError("exec --cap-add: refused: an exec'd command gets exactly the container's capabilities; add them when starting the container (run --cap-add)")
			case c.Bool("detach"):
				return runtime.ToolError("exec -d: not supported yet: run it in the foreground, or with & from your shell")
			case c.NArg() < 2:
				return runtime.ToolError("exec needs a container id or name and a command")
			case c.Bool("tty") && !term.IsTerminal(int(os.Stdin.Fd())):
				return runtime.ToolError("--tty: the input device is not a terminal: drop -t, or run from a terminal")
			}
			state, err := openState(c)
			if err != nil {
				return err
			}
			ct, err := findContainer(state, c.Args().First())
			if err != nil {
				return err
			}
			runner, err := runnerFor(c, state, ct)
			if err != nil {
				return err
			}
			if ct.State != stateRunning || !runner.HasState(ct.ID) {
				return runtime.ToolError("container %s is not running", ct.ID)
			}
			if ct.spec == nil || ct.spec.Process == nil {
				return runtime.ToolError("container %s: its config.json is unreadable", ct.ID)
			}
			proc, err := execProcess(c, ct.spec.Process, c.Args().Tail())
			if err != nil {
				return err
			}
			data, err := json.Marshal(proc)
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			rnd := make([]byte, 6)
			_, _ = rand.Read(rnd)
			name := "exec-" + hex.EncodeToString(rnd) + ".json"
			if err := ct.b.WriteFile(name, data, 0o600); err != nil {
				return runtime.ToolError("%v", err)
			}
			defer os.Remove(filepath.Join(ct.b.Dir, name))
			sigs := runtime.Subscribe()
			defer sigs.Stop()
			status, err := runner.Exec(ct.ID, filepath.Join(ct.b.Dir, name), sigs)
			if err != nil {
				return err
			}
			if status != 0 {
				return &runtime.ExitError{Code: status}
			}
			return nil
		},
	}
}

// execProcess is the container's own process with args, and exec's -t,
// -e, -w and -u: same capabilities, no_new_privs, rlimits, labels.
func execProcess(c *cli.Context, base *specs.Process, args []string) (*specs.Process, error) {
	p := *base
	// The command runs under safe-run-init, like the container's own
	// program: the init checks the same controls on the exec'd process
	// before it starts, and maps "not found" / "cannot execute" to 127 /
	// 126 (runc exec alone would exit 255 for both).
	wrapped := []string{spec.InitDest}
	for _, check := range initChecks(base.Args) {
		wrapped = append(wrapped, "--check", check)
	}
	p.Args = append(append(wrapped, "--"), args...)
	p.Terminal = c.Bool("tty")
	p.ConsoleSize = nil
	p.Env = append([]string(nil), base.Env...)
	vars, err := envFlags(c.StringSlice("env"))
	if err != nil {
		return nil, err
	}
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range p.Env {
			if strings.HasPrefix(e, k+"=") {
				p.Env[i], replaced = kv, true
			}
		}
		if !replaced {
			p.Env = append(p.Env, kv)
		}
	}
	if w := c.String("workdir"); c.IsSet("workdir") {
		if !filepath.IsAbs(w) {
			return nil, runtime.ToolError("--workdir %q: give an absolute path", w)
		}
		p.Cwd = w
	}
	if u := c.String("user"); c.IsSet("user") {
		uid, gid, err := profile.ParseUIDGID(u)
		if err != nil {
			return nil, runtime.ToolError("--user %q: give a numeric UID[:GID]", u)
		}
		if (uid == 0 || gid == 0) && (base.User.UID != 0 || base.User.GID != 0) {
			return nil, runtime.ToolError("--user %s: refused: the container does not run as root, so neither may an exec'd command", u)
		}
		p.User = specs.User{UID: uid, GID: gid}
	}
	return &p, nil
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print containers' state, effective spec and verified checks as JSON",
		ArgsUsage: "ID...",
		Action: func(c *cli.Context) error {
			var out []map[string]any
			err := forEach(c, func(state *bundle.Root, ct *container) error {
				m := ct.summary()
				m["bundle"] = ct.b.Dir
				if ct.Owner != 0 {
					m["ownerPid"] = ct.Owner
				}
				if ct.Error != "" {
					m["error"] = ct.Error
				}
				if ct.meta != nil {
					m["autoRemove"] = ct.meta.AutoRemove
					m["log"] = ct.b.LogPath()
					m["profile"] = ct.meta.Profile
				}
				if ct.spec != nil && ct.spec.Process != nil {
					m["checks"] = initChecks(ct.spec.Process.Args)
				}
				m["spec"] = ct.spec
				out = append(out, m)
				return nil
			})
			if len(out) > 0 {
				if perr := printJSON(out); perr != nil {
					return perr
				}
			}
			return err
		},
	}
}
