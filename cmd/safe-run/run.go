package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/label"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

// runFlags are shared by `run` and `spec` (spec shows what run would run),
// and end with docker run's flags (dockerflags.go).
var runFlags = append([]cli.Flag{
	&cli.StringFlag{Name: "profile", Usage: "profile `NAME` or path to a .yaml file", Value: "default", EnvVars: []string{"SAFE_RUN_PROFILE"}, Category: "Profile"},
	&cli.StringFlag{Name: "rootfs", Usage: "run from the root filesystem in `DIR` instead of the profile's", Category: "Profile"},
	&cli.StringFlag{Name: "name", Usage: "container `ID` (default: a random safe-run-... id)", Category: "Container"},
	&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the program a terminal (stdin must be one)", Category: "Container"},
	&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open (always on; accepted for docker compatibility)", Category: "Container"},
	&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` (or pass NAME from your environment)", Category: "Process"},
	&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container", Category: "Process"},
	&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`UID[:GID]` or \"invoking\"", Category: "Process"},
	&cli.StringFlag{Name: "hostname", Usage: "container host `NAME`", Category: "Process"},
	&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit, e.g. 256m", Category: "Limits"},
	&cli.StringFlag{Name: "cpus", Usage: "CPU limit in cores, e.g. 0.5", Category: "Limits"},
	&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes", Category: "Limits"},
}, dockerRunFlags...)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a command under a profile, on the profile's root filesystem or an image's",
		ArgsUsage: "[IMAGE [COMMAND [ARG...]]] | [-- COMMAND [ARG...]]",
		Description: `Runs COMMAND (or the profile's command) in a container built from the
profile. Every control is verified from inside the container before the
command starts; a missing one refuses the run (exit 125).

Exit status: the command's own; 128+N if it was killed by signal N (137:
killed, e.g. by the OOM killer); 125 safe-run failed; 126 the command cannot
be executed; 127 the command was not found.

With IMAGE (as in docker run) the container runs the image's entrypoint and
command, or COMMAND, on the image's root filesystem (read-only; pulled when
missing unless --pull never). Without one, "--" COMMAND runs on the
profile's root filesystem (the host view for default).

Examples:
   safe-run run -- id
   safe-run run registry.example.com/tools/busybox:1.36 echo hi
   safe-run run --profile shell -t
   safe-run run --rootfs ./rootfs --memory 64m -- /bin/sh -c 'echo hi'`,
		Flags: append(append([]cli.Flag{explainFlag}, runFlags...), imageFlags...),
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if imageMode(c) {
				ir, release, err := openImage(c, args[0])
				if err != nil {
					return err
				}
				defer release()
				return runProfile(c, c.String("profile"), args[1:], runOptions{image: ir})
			}
			return runProfile(c, c.String("profile"), args, runOptions{})
		},
	}
}

type runOptions struct {
	specOnly bool // print config.json instead of running
	// agent, when set, runs the program with the seccomp filter in
	// Notify mode and the session it returns answering the
	// notifications (`safe-run record`). `run --explain` (or
	// SAFE_RUN_EXPLAIN=1) sets it to the explain session.
	agent func(p *prepared) (agentSession, error)
	// image, when set, is the image the container runs from (`run IMAGE`).
	image *imageRun
}

// explainFlag is run's --explain.
var explainFlag = &cli.BoolFlag{Name: "explain", Usage: "print why each refused syscall was refused, as it happens, and a summary at exit (or SAFE_RUN_EXPLAIN=1)", Category: "Seccomp"}

// agentSession answers the seccomp notifications of one run.
type agentSession interface {
	// handle answers one notification (on the agent's goroutine).
	handle(n *seccomp.Notification) seccomp.Response
	// finish runs once the container is gone: connected tells whether
	// the runtime handed over the notify fd, serveErr is the agent's
	// failure, status and runErr are runner.Run's.
	finish(connected bool, serveErr error, status int, runErr error) error
}

// prepared is everything a run needs, up to (not including) the bundle.
type prepared struct {
	resolved *profile.Resolved
	facts    *host.Facts
	plan     *plan.Plan
	runtime  string
	state    *bundle.Root
	id       string
	// labels are the container's SELinux labels (empty without SELinux);
	// releaseLabels frees their reservation and must run on every path.
	labels        label.Labels
	releaseLabels func()
}

// prepare resolves the profile with the command line's overrides, probes
// the host once, and builds the plan.
func prepare(c *cli.Context, ref string, args []string, ir *imageRun, stateNeeded, notify bool) (*prepared, error) {
	overlay, err := overridesFromFlags(c, ref)
	if err != nil {
		return nil, err
	}
	overlays := []*profile.File{overlay}
	var imageNotices []string
	if ir != nil {
		var imgOverlay *profile.File
		if imgOverlay, args, imageNotices, err = imageOverlay(c, ir, args); err != nil {
			return nil, err
		}
		overlays = []*profile.File{imgOverlay, overlay} // the flags win over the image
	}
	r, err := newFinder(c).Load(ref, overlays...)
	if err != nil {
		return nil, runtime.ToolError("%v", err)
	}
	runtimePath, err := runtime.Find(c.String("runtime"))
	if err != nil {
		return nil, err
	}
	initPath, err := findInit()
	if err != nil {
		return nil, err
	}
	facts, err := host.Probe(initPath)
	if err != nil {
		return nil, runtime.ToolError("%v", err)
	}
	p := &prepared{resolved: r, facts: facts, runtime: runtimePath, id: c.String("name")}
	if p.id == "" {
		p.id = bundle.NewID()
		if !stateNeeded {
			p.id = "safe-run-spec" // stable output for `safe-run spec`
		}
	}
	if stateNeeded {
		if p.state, err = bundle.Open(stateDir(c)); err != nil {
			return nil, runtime.ToolError("%v", err)
		}
	}
	terminal := c.Bool("tty")
	if terminal && stateNeeded && !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, runtime.ToolError("--tty: the input device is not a terminal: drop -t, or run from a terminal")
	}
	netMsgs := &dockerMessages{}
	network, err := dockerNetworkRequest(c, netMsgs)
	if err != nil {
		return nil, err
	}
	if stateNeeded {
		printDockerMessages(c, netMsgs)
	}
	req := plan.Request{
		ID: p.id, Args: args, CallerEnv: os.Environ(), Terminal: terminal,
		BindSources: host.Exist(plan.BindSources(r, facts)),
		DropControl: os.Getenv("SAFE_RUN_TEST_DROP_CONTROL"),
		Network:     network,
		RootfsFiles: rootfsFiles(r.Rootfs, "etc/resolv.conf", "etc/hosts"),
	}
	if notify {
		if r.Unsafe.DisableSeccomp {
			return nil, runtime.ToolError("profile %q disables seccomp (unsafe.disable-seccomp): there is no filter to explain or record", r.Name)
		}
		// The bundle directory does not exist yet; runc connects to the
		// socket the agent creates in it before the run.
		req.SeccompMode = seccomp.Notify
		req.ListenerPath = filepath.Join(p.state.BundlesDir(), p.id, "seccomp.sock")
	}
	labels, release, err := allocateLabels(r, facts, p.state, p.id)
	if err != nil {
		return nil, err
	}
	p.labels, p.releaseLabels = labels, release
	req.ProcessLabel, req.MountLabel = labels.Process, labels.Mount
	if facts.InitPath, err = labelledInit(p.state, facts.InitPath, labels); err != nil {
		release()
		return nil, err
	}
	if p.plan, err = plan.Build(r, facts, req); err != nil {
		release()
		return nil, runtime.ToolError("%v", err)
	}
	p.plan.Notices = append(imageNotices, p.plan.Notices...)
	return p, nil
}

// runProfile runs (or, with specOnly, prints) profile ref with args.
func runProfile(c *cli.Context, ref string, args []string, o runOptions) error {
	if o.agent == nil && !o.specOnly && explainRequested(c) {
		o.agent = explainSession
	}
	detach := c.Bool("detach") && !o.specOnly
	if detach {
		if err := detachAllowed(c, o); err != nil {
			return err
		}
	}
	p, err := prepare(c, ref, args, o.image, !o.specOnly, o.agent != nil && !o.specOnly)
	if err != nil {
		return err
	}
	// keep: a detached container's supervisor owns the bundle and the
	// label reservation from the moment it started the container.
	keep := false
	defer func() {
		if !keep {
			p.releaseLabels()
		}
	}()
	if o.specOnly {
		return printJSON(p.plan.Spec)
	}
	for _, w := range p.plan.Warnings {
		if logEnabled(c, "warn") {
			fmt.Fprintln(os.Stderr, "safe-run: warning: "+w)
		}
	}
	for _, n := range p.plan.Notices {
		if logEnabled(c, "info") {
			fmt.Fprintln(os.Stderr, "safe-run: "+n)
		}
	}
	if n := p.labels.Process; n != "" && logEnabled(c, "info") {
		fmt.Fprintln(os.Stderr, "safe-run: SELinux label "+n)
	}
	feats, err := runtime.Features(p.runtime, p.state.CacheDir())
	if err != nil {
		return err
	}
	if err := relabelBinds(p); err != nil {
		return err
	}
	if err := runtime.Supports(feats, p.plan.Spec); err != nil {
		return err
	}
	var pasta *runtime.Pasta
	if p.plan.Pasta != nil {
		path, err := runtime.FindPasta(p.facts.Rootless)
		if err != nil {
			return err
		}
		pasta = &runtime.Pasta{Path: path, Args: p.plan.Pasta, JoinUserNS: p.facts.Rootless}
	}
	sigs := runtime.Subscribe() // before the bundle exists: see runtime.Signals
	defer sigs.Stop()
	b, err := p.state.Create(p.id, bundle.Contents{
		Spec: p.plan.Spec, Files: p.plan.Files, Symlinks: p.plan.Symlinks, Skeleton: p.plan.HostView,
		ShareSkeleton: p.plan.ReadonlyRoot,
	})
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	defer func() {
		if keep {
			return
		}
		if err := b.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "safe-run: cleanup: "+err.Error())
		}
	}()
	if !detach { // a detached container's owner is its supervisor
		if err := b.MarkOwner(); err != nil {
			return runtime.ToolError("%v", err)
		}
	}
	if err := labelBundle(b, p.labels); err != nil {
		return err
	}
	if s := sigs.PendingStop(); s != 0 {
		return &runtime.ExitError{Code: 128 + int(s)} // stopped before anything ran
	}
	runner := &runtime.Runner{Runtime: p.runtime, Root: p.state.RuncRoot(), SystemdCgroup: p.plan.SystemdCgroup,
		StopTimeout: stopTimeout(c), Pasta: pasta}
	if detach {
		return startDetached(c, p, b, runner, o.image, sigs, &keep)
	}
	var session agentSession
	var agent *seccomp.Agent
	served := make(chan error, 1)
	if o.agent != nil {
		if session, err = o.agent(p); err != nil {
			return err
		}
		if p.plan.Spec.Linux.Seccomp == nil || p.plan.Spec.Linux.Seccomp.ListenerPath == "" {
			return runtime.ToolError("the spec has no seccomp filter to attach the agent to")
		}
		if agent, err = seccomp.Listen(p.plan.Spec.Linux.Seccomp.ListenerPath); err != nil {
			return runtime.ToolError("%v", err)
		}
		go func() { served <- agent.Serve(session.handle) }()
	}
	status, err := runner.Run(p.id, b.Dir, sigs)
	if agent != nil {
		// The container is gone: Close ends Serve (it returns at once if
		// the fd already reported that no process uses the filter).
		agent.Close()
		if ferr := session.finish(agent.Connected(), <-served, status, err); ferr != nil && err == nil {
			return ferr
		}
	}
	if err != nil {
		return err
	}
	if status != 0 {
		return &runtime.ExitError{Code: status}
	}
	return nil
}

// overridesFromFlags turns run's flags into a profile overlay, validated
// with the profile (so a bad --memory is reported like a bad profile).
// docker run's flags are allowed only within what profile ref permits.
func overridesFromFlags(c *cli.Context, ref string) (*profile.File, error) {
	o := profile.Overlay()
	str := func(flag, field string, dst **string) {
		if c.IsSet(flag) {
			v := c.String(flag)
			*dst = &v
			o.SetOrigin(field, "--"+flag)
		}
	}
	str("workdir", "workdir", &o.Workdir)
	str("user", "user", &o.User)
	str("hostname", "hostname", &o.Hostname)
	if c.IsSet("rootfs") {
		dir, err := filepath.Abs(c.String("rootfs"))
		if err != nil {
			return nil, runtime.ToolError("--rootfs: %v", err)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, runtime.ToolError("--rootfs %s: not a directory: give the directory that holds the root filesystem", c.String("rootfs"))
		}
		o.Rootfs = &dir
		o.SetOrigin("rootfs", "--rootfs")
	}
	if env := c.StringSlice("env"); len(env) > 0 {
		vars, err := envFlags(env)
		if err != nil {
			return nil, err
		}
		o.Env = &profile.Env{Set: map[string]string{}}
		for _, kv := range vars {
			k, v, _ := strings.Cut(kv, "=")
			o.Env.Set[k] = v
			o.SetOrigin("env.set."+k, "--env")
		}
	}
	if c.IsSet("memory") || c.IsSet("cpus") || c.IsSet("pids-limit") {
		o.Resources = &profile.Resources{}
		if err := profile.ParseOverride(c.String("memory"), &o.Resources.Memory); c.IsSet("memory") && err != nil {
			return nil, runtime.ToolError("--memory: %v", err)
		}
		if err := profile.ParseOverride(c.String("cpus"), &o.Resources.CPUs); c.IsSet("cpus") && err != nil {
			return nil, runtime.ToolError("--cpus: %v", err)
		}
		pids := c.String("pids-limit")
		if pids == "-1" || pids == "0" {
			pids = "unlimited" // docker's spelling
		}
		if err := profile.ParseOverride(pids, &o.Resources.Pids); c.IsSet("pids-limit") && err != nil {
			return nil, runtime.ToolError("--pids-limit: %v", err)
		}
		for flag, field := range map[string]string{"memory": "resources.memory", "cpus": "resources.cpus", "pids-limit": "resources.pids"} {
			if c.IsSet(flag) {
				o.SetOrigin(field, "--"+flag)
			}
		}
	}
	env := dockerEnv{readFile: os.ReadFile, lookup: os.LookupEnv}
	if dockerNeedsProfile(c) {
		// The profile as the flags above leave it decides what the
		// docker flags may relax; its own errors are reported as usual.
		var err error
		if env.base, err = newFinder(c).Load(ref, o); err != nil {
			return nil, runtime.ToolError("%v", err)
		}
	}
	msgs, err := applyDockerFlags(o, givenFlags(c), env)
	if err != nil {
		return nil, err
	}
	printDockerMessages(c, msgs)
	return o, nil
}

// rootfsFiles reports which of rels (paths relative to the root) are
// regular files in the rootfs directory, resolving symlinks inside it
// only (as runc resolves mount targets): plan.Request.RootfsFiles.
func rootfsFiles(rootfs string, rels ...string) map[string]bool {
	out := map[string]bool{}
	if rootfs == profile.RootfsHost {
		return out
	}
	for _, rel := range rels {
		p, err := securejoin.SecureJoin(rootfs, rel)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(p)
		out[rel] = err == nil && fi.Mode().IsRegular()
	}
	return out
}

// envFlags reads -e/--env values as docker does: NAME=VALUE sets, a bare
// NAME passes the caller's value and is dropped when the caller has none.
func envFlags(values []string) ([]string, error) {
	var out []string
	for _, kv := range values {
		k, v, hasValue := strings.Cut(kv, "=")
		if k == "" {
			return nil, runtime.ToolError("--env %q: give NAME=VALUE or NAME", kv)
		}
		if !hasValue {
			var ok bool
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// setFlagValues answers IsSet from the flags the command line gives, read
// once. urfave/cli's own IsSet walks every flag of the command through a
// regexp, so asking it for each of run's ~120 docker flags cost ~2 ms of
// every start.
type setFlagValues struct {
	*cli.Context
	set map[string]bool
}

func givenFlags(c *cli.Context) setFlagValues {
	set := map[string]bool{}
	for _, name := range c.LocalFlagNames() {
		set[name] = true
	}
	return setFlagValues{Context: c, set: set}
}

func (f setFlagValues) IsSet(name string) bool { return f.set[name] }
