package main

import "github.com/urfave/cli/v2"

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
			ref := c.String("profile")
			args := c.Args().Slice()
			if len(args) > 0 && !c.IsSet("profile") {
				ref, args = args[0], args[1:]
				if len(args) > 0 && args[0] == "--" {
					args = args[1:]
				}
			}
			return runProfile(c, ref, args, runOptions{specOnly: true})
		},
	}
}
