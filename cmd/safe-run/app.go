package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/suggest"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func newApp() *cli.App {
	app := &cli.App{
		Name:    "safe-run",
		Usage:   "run programs in locked-down Linux containers",
		Version: version,
		Description: `safe-run turns a profile into a hardened OCI runtime spec (no capabilities,
no_new_privs, read-only root, a seccomp allowlist, no network, cgroup limits),
checks from inside the container that every control is in force, and runs
the program through runc.

Examples:
   safe-run default -- sh -c 'id; grep -E "Cap|NoNew|Seccomp" /proc/self/status'
   safe-run run --profile default --rootfs ./rootfs -- /bin/true
   safe-run run -v "$PWD":/src:ro registry.example.com/tools/go:1 go vet ./...   (docker run style)
   safe-run run --explain -- ./program        (every refused syscall, live)
   safe-run spec default > config.json
   safe-run profile list
   safe-run check

"safe-run NAME [-- CMD...]" is short for "safe-run run --profile NAME [-- CMD...]".`,
		Flags:                     globalFlags,
		Commands:                  append([]*cli.Command{runCommand(), recordCommand(), specCommand(), profileCommand(), exportCommand(), checkCommand(), psCommand(), logsCommand(), stopCommand(), killCommand(), rmCommand(), execCommand(), inspectCommand(), gcCommand(), completionCommand(), versionCommand(), superviseCommand()}, imageCommands()...),
		EnableBashCompletion:      true,
		UseShortOptionHandling:    true,
		DisableSliceFlagSeparator: true,
		Suggest:                   true,
		HideVersion:               true,
		// Errors are printed once, by main, with the right exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		Action:         shorthand,
	}
	return app
}

// shorthand runs `safe-run NAME [-- CMD...]`.
func shorthand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	args := c.Args().Tail()
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if strings.HasPrefix(name, "-") {
		return runtime.ToolError("unknown flag %s: see safe-run --help", name)
	}
	if !profile.IsPath(name) {
		// A typo of a command must not be taken for a profile.
		if _, _, err := newFinder(c).Find(name); err != nil {
			var commands []string
			for _, cmd := range c.App.Commands {
				commands = append(commands, cmd.Name)
			}
			if hint := suggest.Hint(name, commands); hint != "" {
				return runtime.ToolError("%q is neither a command nor a profile%s", name, hint)
			}
			return runtime.ToolError("%v", err)
		}
	}
	return runProfile(c, name, args, runOptions{})
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the versions of safe-run, the runtime spec, libseccomp and the OCI runtime",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			v := versions(c)
			if c.Bool("json") {
				return printJSON(v)
			}
			for _, kv := range v.list() {
				fmt.Fprintf(os.Stdout, "%-14s %s\n", kv[0]+":", kv[1])
			}
			return nil
		},
	}
}
