package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

func profileCommand() *cli.Command {
	return &cli.Command{
		Name:  "profile",
		Usage: "list and show profiles",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list every profile reachable by name, and which file wins",
				Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					entries, err := newFinder(c).List()
					if err != nil {
						return runtime.ToolError("%v", err)
					}
					if c.Bool("json") {
						return printJSON(entries)
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "NAME\tSOURCE\tDESCRIPTION")
					for _, e := range entries {
						src := e.Path
						if len(e.Shadows) > 0 {
							src += " (overrides " + strings.Join(e.Shadows, ", ") + ")"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", e.Name, src, e.Description)
					}
					return w.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "show a profile after extends, merging and defaults, and which file won",
				ArgsUsage: "NAME|FILE",
				Description: `With --seccomp, prints the seccomp filter a run would load, one line per
rule (action, syscalls, argument tests), and what each seccomp.import of
the chain skipped; with --json too, the OCI seccomp object. With --pfc,
prints libseccomp's pseudo filter code of the compiled filter.`,
				Flags: []cli.Flag{jsonFlag,
					&cli.BoolFlag{Name: "seccomp", Usage: "print the effective seccomp rules instead"},
					&cli.BoolFlag{Name: "pfc", Usage: "print libseccomp's PFC text of the compiled filter instead"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return runtime.ToolError("profile show: give exactly one profile name or file")
					}
					ref := c.Args().First()
					r, err := newFinder(c).Load(ref)
					if err != nil {
						return runtime.ToolError("%v", err)
					}
					if c.Bool("seccomp") || c.Bool("pfc") {
						return showSeccomp(c, ref, r)
					}
					if c.Bool("json") {
						return printJSON(r)
					}
					showResolved(r)
					return nil
				},
			},
		},
	}
}

// showSeccomp prints the filter a run of r would load (--seccomp, --pfc).
func showSeccomp(c *cli.Context, ref string, r *profile.Resolved) error {
	s, err := effectiveSeccomp(r)
	if err != nil {
		return err
	}
	if c.Bool("seccomp") {
		if c.Bool("json") {
			if err := printJSON(s); err != nil {
				return err
			}
		} else {
			fmt.Printf("seccomp filter of profile %q (%d rules, libseccomp %s):\n", r.Name, len(s.Syscalls), seccomp.LibVersion())
			for _, line := range seccomp.Describe(s) {
				fmt.Println("  " + line)
			}
			imports, err := newFinder(c).SeccompImports(ref)
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			for _, imp := range imports {
				showImport(imp)
			}
		}
	}
	if c.Bool("pfc") {
		pfc, err := seccomp.PFC(s)
		if err != nil {
			return runtime.ToolError("%v", err)
		}
		fmt.Print(pfc)
	}
	return nil
}

// showImport reports what a seccomp.import took in and what it skipped.
func showImport(imp profile.SeccompImport) {
	i := imp.Imported
	fmt.Printf("seccomp.import of %s: %s (%d syscalls allowed)\n", imp.Profile, imp.File, len(i.Allow))
	if len(i.Unknown) > 0 {
		fmt.Printf("  skipped, unknown to libseccomp %s on %s: %s\n", seccomp.LibVersion(),
			strings.ToLower(strings.TrimPrefix(string(seccomp.NativeArch()), "SCMP_ARCH_")), strings.Join(i.Unknown, ", "))
	}
	names := make([]string, 0, len(i.Conditional))
	for n := range i.Conditional {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("  %s: %s\n", n, i.Conditional[n])
	}
}

func showResolved(r *profile.Resolved) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(w, "%s\t%v\n", k, v) }
	row("name", r.Name)
	row("source", r.Source)
	row("chain", strings.Join(r.Chain, " -> "))
	row("description", r.Description)
	row("command", strings.Join(r.Command, " "))
	user := fmt.Sprintf("%d:%d", r.User.UID, r.User.GID)
	if r.User.Invoking {
		user = "invoking"
	}
	row("user", user)
	row("rootfs", r.Rootfs)
	row("readonly root", !r.Unsafe.DisableReadonlyRoot)
	row("workdir", r.Workdir)
	row("hostname", r.Hostname)
	for _, t := range r.Tmpfs {
		row("tmpfs", fmt.Sprintf("%s size=%s mode=%o exec=%v", t.Path, t.Size, *t.Mode, t.Exec))
	}
	for _, b := range r.Binds {
		mode := "ro"
		if b.Writable {
			mode = "rw"
		}
		row("bind", fmt.Sprintf("%s -> %s (%s)", b.Source, b.Target, mode))
	}
	caps := "none"
	if len(r.Capabilities) > 0 {
		caps = strings.Join(r.Capabilities, ", ")
	}
	row("capabilities", caps)
	row("no_new_privs", !r.Unsafe.DisableNoNewPrivileges)
	if r.Unsafe.DisableSeccomp {
		row("seccomp", "DISABLED")
	} else {
		sc := r.Seccomp
		row("seccomp", fmt.Sprintf("allowlist of %d syscalls; other known syscalls fail with %s, unknown ones with %s",
			len(sc.Allow), unix.ErrnoName(syscall.Errno(sc.DenyErrno)), unix.ErrnoName(syscall.Errno(sc.DefaultErrno))))
		row("seccomp namespaces", orNone(sc.Namespaces))
		if sc.SocketFamilies == nil {
			row("socket families", "any")
		} else {
			row("socket families", orNone(sc.SocketFamilies))
		}
		row("compat ABIs", orNone(sc.Architectures))
	}
	sel := r.SELinux.Mode
	if sel != profile.SELinuxOff {
		sel += fmt.Sprintf(" (type %s, level %s)", r.SELinux.Type, r.SELinux.Level)
	}
	row("selinux", sel)
	row("network", r.Network)
	row("memory", profile.Size(r.Memory))
	row("cpus", r.CPUs)
	row("pids", r.Pids)
	row("limits required", r.LimitsRequired)
	for name, l := range r.Rlimits {
		row("rlimit "+name, l)
	}
	for _, warn := range r.Warnings() {
		row("WARNING", warn)
	}
	w.Flush()
}
