package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write parts of a profile in other tools' formats",
		Subcommands: []*cli.Command{
			{
				Name:      "seccomp",
				Usage:     "write a profile's seccomp filter as Docker/OCI seccomp JSON",
				ArgsUsage: "PROFILE",
				Description: `Writes the filter safe-run would load for PROFILE (after extends, merging
and validation) as a Docker seccomp profile: usable with
"docker run --security-opt seccomp=FILE", "podman run --security-opt
seccomp=FILE" and as a Kubernetes Localhost seccomp profile. The JSON holds
defaultAction, defaultErrnoRet, architectures and the rules, including
safe-run's argument rules (clone/unshare/setns namespace flags, socket
families, ioctl, personality). Only the filter is exported: Docker applies
its own capabilities, mounts and limits.

Examples:
   safe-run export seccomp default > safe-run-default.json
   safe-run export seccomp ./web.yaml -o web-seccomp.json
   docker run --security-opt seccomp=safe-run-default.json alpine id`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (created; never overwritten) instead of stdout"},
				},
				Action: func(c *cli.Context) error {
					ref, output, err := exportArgs(c)
					if err != nil {
						return err
					}
					r, err := newFinder(c).Load(ref)
					if err != nil {
						return runtime.ToolError("%v", err)
					}
					s, err := effectiveSeccomp(r)
					if err != nil {
						return err
					}
					data, err := seccomp.ExportDocker(s)
					if err != nil {
						return runtime.ToolError("export seccomp: %v", err)
					}
					return writeNew(output, data)
				},
			},
		},
	}
}

// exportArgs reads `PROFILE [-o FILE]`: the flag parser stops at the
// first argument, so an -o after the profile arrives as arguments.
func exportArgs(c *cli.Context) (ref, output string, err error) {
	args := c.Args().Slice()
	output = c.String("output")
	if len(args) == 3 && (args[1] == "-o" || args[1] == "--output") && !c.IsSet("output") {
		args, output = args[:1], args[2]
	} else if len(args) == 2 && !c.IsSet("output") {
		for _, p := range []string{"-o=", "--output="} {
			if v, ok := strings.CutPrefix(args[1], p); ok {
				args, output = args[:1], v
			}
		}
	}
	if len(args) != 1 {
		return "", "", runtime.ToolError("export seccomp: give exactly one profile name or file (and optionally -o FILE)")
	}
	return args[0], output, nil
}

// effectiveSeccomp is the (enforcing) filter a run of r would load.
func effectiveSeccomp(r *profile.Resolved) (*specs.LinuxSeccomp, error) {
	if r.Unsafe.DisableSeccomp {
		return nil, runtime.ToolError("profile %q sets unsafe.disable-seccomp: it has no seccomp filter", r.Name)
	}
	return seccomp.Build(plan.SeccompPolicy(r, plan.Request{})), nil
}

// writeNew writes data to stdout ("") or to a new file: an existing file
// is never overwritten.
func writeNew(path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return runtime.ToolError("%s already exists: refusing to overwrite it (remove it or choose another -o FILE)", path)
	}
	if err != nil {
		return runtime.ToolError("%v", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return runtime.ToolError("writing %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return runtime.ToolError("writing %s: %v", path, err)
	}
	return nil
}
