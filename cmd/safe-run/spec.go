package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

func specCommand() *cli.Command {
	return &cli.Command{
		Name:      "spec",
		Usage:     "print the OCI runtime spec (config.json) a run would use; nothing is run",
		ArgsUsage: "[PROFILE] [-- COMMAND [ARG...]]",
		Description: `Takes run's flags and arguments. The output depends only on the profile,
the flags and the host facts (runtime, cgroups, ids), so the same inputs give
byte-identical JSON. Bind sources and the init are host paths; relative
mount sources (etc/passwd, ...) are files safe-run writes into the bundle.

Examples:
   safe-run spec default > config.json
   safe-run spec --memory 128m shell`,
		Flags: runFlags,
		Action: func(c *cli.Context) error {
			ref, args := specArgs(c)
			return runProfile(c, ref, args, runOptions{specOnly: true})
		},
	}
}

// specArgs splits `spec [PROFILE] [-- COMMAND...]`. The flag parser eats a
// "--" that comes first, so `spec -- /bin/true` arrives as ["/bin/true"]:
// a first argument is the profile only when "--" follows it, or when it is
// the only argument and names a profile (a .yaml file or a known name).
func specArgs(c *cli.Context) (string, []string) {
	ref, args := c.String("profile"), c.Args().Slice()
	if c.IsSet("profile") || len(args) == 0 {
		return ref, args
	}
	switch {
	case len(args) > 1 && args[1] == "--":
		return args[0], args[2:]
	case len(args) == 1 && isProfileRef(c, args[0]):
		return args[0], nil
	}
	return ref, args
}

func isProfileRef(c *cli.Context, s string) bool {
	if strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml") {
		return true
	}
	_, _, err := newFinder(c).Find(s)
	return err == nil && !strings.Contains(s, "/")
}
