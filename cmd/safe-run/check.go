package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
)

// checkRow is one line of `safe-run check`.
type checkRow struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail
	Value  string `json:"value"`
	Fix    string `json:"fix,omitempty"`
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "report what this host supports, with a fix for each gap",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			rows := hostChecks(c)
			if c.Bool("json") {
				return printJSON(rows)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CHECK\tSTATUS\tVALUE\tFIX")
			failed := false
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Check, r.Status, r.Value, r.Fix)
				failed = failed || r.Status == "fail"
			}
			w.Flush()
			if failed {
				return &runtime.ExitError{Code: 1}
			}
			return nil
		},
	}
}

func hostChecks(c *cli.Context) []checkRow {
	var rows []checkRow
	add := func(check, status, value, fix string) {
		rows = append(rows, checkRow{check, status, value, fix})
	}
	rt, err := runtime.Find(c.String("runtime"))
	if err != nil {
		add("runtime", "fail", "not found", "apt-get install runc")
	} else {
		add("runtime", "ok", rt+" "+runtimeVersion(rt), "")
		if state, err := bundle.Open(stateDir(c)); err != nil {
			add("state root", "fail", err.Error(), "")
		} else if f, err := runtime.Features(rt, state.CacheDir()); err != nil {
			add("runtime features", "fail", err.Error(), "use runc >= 1.1")
		} else if f.Linux != nil && f.Linux.Seccomp != nil && f.Linux.Seccomp.Enabled != nil && *f.Linux.Seccomp.Enabled {
			err := runtime.Supports(f, &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{
				Seccomp: seccomp.Build(seccomp.DefaultPolicy())}})
			status, fix := "ok", ""
			if err != nil {
				status, fix = "fail", err.Error()
			}
			add("seccomp", status, "actions "+strings.Join(f.Linux.Seccomp.Actions, " "), fix)
		} else {
			add("seccomp", "fail", "runtime built without seccomp", "install a runc built with libseccomp")
		}
	}
	add("libseccomp", "ok", seccomp.LibVersion()+" (linked into safe-run)", "")
	if p, err := findInit(); err != nil {
		add("safe-run-init", "fail", "not found", "build it with make")
	} else {
		add("safe-run-init", "ok", p, "")
	}

	facts, err := host.Probe("")
	if err != nil {
		add("host", "fail", err.Error(), "")
		return rows
	}
	mode := "rootful"
	if facts.Rootless {
		mode = "rootless (uid " + fmt.Sprint(facts.UID) + ")"
	}
	add("mode", "ok", mode, "")
	var usable, unusable []string
	for _, ctl := range []string{"memory", "cpu", "pids"} {
		if facts.Cgroup.Usable[ctl] {
			usable = append(usable, ctl)
		} else {
			unusable = append(unusable, ctl)
		}
	}
	status := "ok"
	if len(unusable) > 0 {
		status = "warn"
	}
	add("cgroups", status, fmt.Sprintf("%s; limits usable: %s; not usable: %s", facts.Cgroup.Mode,
		orNone(usable), orNone(unusable)), facts.Cgroup.Why)
	if !facts.Rootless {
		// Root can tell ordinary users what to expect.
		rl := host.ProbeCgroup(true)
		status := "ok"
		if !rl.Usable["memory"] || !rl.Usable["pids"] {
			status = "warn"
		}
		add("rootless limits", status, map[bool]string{true: "usable through systemd delegation", false: "not usable"}[status == "ok"], rl.Why)
	}
	rows = append(rows, userNSStatus())
	if facts.Rootless {
		if len(facts.SubUIDs) > 0 && facts.HaveIDMaps {
			add("subordinate ids", "ok", fmt.Sprintf("%d uids from %d", facts.SubUIDs[0].Count, facts.SubUIDs[0].Start), "")
		} else {
			add("subordinate ids", "warn", "none: programs run as the namespace's root (your uid outside)",
				"apt-get install uidmap; usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "+facts.UserName)
		}
	}
	rows = append(rows, privateNetworkStatus())
	switch {
	case !selinux.GetEnabled():
		add("selinux", "warn", "off: containers get no SELinux labels", "boot an SELinux-enabled kernel with a policy (see docs/security.md)")
	case selinux.EnforceMode() == selinux.Enforcing:
		add("selinux", "ok", "enforcing", "")
	default:
		add("selinux", "warn", "permissive: labels are set but not enforced", "setenforce 1")
	}
	return rows
}

func userNSStatus() checkRow {
	data, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil || strings.TrimSpace(string(data)) == "0" {
		return checkRow{"user namespaces", "warn", "disabled", "sysctl -w user.max_user_namespaces=15000 (rootless runs need them)"}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return checkRow{"user namespaces", "warn", "unprivileged creation disabled", "sysctl -w kernel.unprivileged_userns_clone=1 (rootless runs need it)"}
	}
	return checkRow{"user namespaces", "ok", "max " + strings.TrimSpace(string(data)), ""}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// runtimeVersion is the first line of `RUNTIME --version`.
func runtimeVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// privateNetworkStatus says whether --network private can work: it needs
// pasta, and /dev/net/tun usable by the caller.
func privateNetworkStatus() checkRow {
	if _, err := exec.LookPath("pasta"); err != nil {
		return checkRow{"private network", "warn", "pasta not installed", "apt-get install passt"}
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return checkRow{"private network", "warn", "/dev/net/tun: " + err.Error(), "chmod 0666 /dev/net/tun (Debian's default)"}
	}
	f.Close()
	return checkRow{"private network", "ok", "pasta and /dev/net/tun available", ""}
}
