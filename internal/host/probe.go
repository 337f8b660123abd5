package host

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// etcCandidates are the /etc entries the host view may show read-only:
// what the dynamic loader, libc name lookups, shells and terminals need.
// Nothing with secrets (shadow, ssh, sudoers) and no network config.
var etcCandidates = []string{
	"alternatives", "bash.bashrc", "environment", "inputrc", "ld.so.cache", "ld.so.conf",
	"ld.so.conf.d", "localtime", "nsswitch.conf", "profile", "profile.d", "terminfo",
}

// usrMergeCandidates are the top-level directories a Debian-like host has
// either as symlinks into /usr or as real directories.
var usrMergeCandidates = []string{"bin", "lib", "lib32", "lib64", "libx32", "sbin"}

// Probe reads the facts. initPath is where safe-run-init was found.
func Probe(initPath string) (*Facts, error) {
	f := &Facts{
		UID:      uint32(os.Geteuid()),
		GID:      uint32(os.Getegid()),
		InitPath: initPath,
	}
	f.Rootless = f.UID != 0
	if u, err := user.LookupId(strconv.Itoa(int(f.UID))); err == nil {
		f.UserName, f.Home = u.Username, u.HomeDir
	}
	if h := os.Getenv("HOME"); h != "" {
		f.Home = h
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("cannot read the current directory: %w", err)
	}
	f.Cwd = cwd
	if f.Rootless {
		f.SubUIDs = readSubIDs("/etc/subuid", f.UserName, f.UID)
		f.SubGIDs = readSubIDs("/etc/subgid", f.UserName, f.UID)
		_, errU := exec.LookPath("newuidmap")
		_, errG := exec.LookPath("newgidmap")
		f.HaveIDMaps = errU == nil && errG == nil
	}
	f.Cgroup = ProbeCgroup(f.Rootless)
	f.SELinuxEnabled = selinux.GetEnabled()
	f.UsrMerge = map[string]string{}
	for _, name := range usrMergeCandidates {
		p := "/" + name
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err == nil {
				f.UsrMerge[name] = target
			}
		} else if fi.IsDir() {
			f.UsrMerge[name] = ""
		}
	}
	for _, name := range etcCandidates {
		if _, err := os.Stat(filepath.Join("/etc", name)); err == nil {
			f.EtcEntries = append(f.EtcEntries, name)
		}
	}
	f.HardLimits = map[string]uint64{}
	for name, res := range rlimitResources {
		var rl unix.Rlimit
		if unix.Getrlimit(res, &rl) == nil {
			f.HardLimits[name] = rl.Max
		}
	}
	return f, nil
}

var rlimitResources = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// readSubIDs returns the ranges of /etc/subuid-style file for a user
// (matched by name or by uid, as shadow-utils does).
func readSubIDs(path, name string, uid uint32) []IDRange {
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	var out []IDRange
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != name && parts[0] != strconv.Itoa(int(uid))) {
			continue
		}
		start, err1 := strconv.ParseUint(parts[1], 10, 32)
		count, err2 := strconv.ParseUint(parts[2], 10, 32)
		if err1 == nil && err2 == nil && count > 0 {
			out = append(out, IDRange{uint32(start), uint32(count)})
		}
	}
	return out
}

// ProbeCgroup finds the cgroup layout and whether limits can be applied,
// for a rootful or a rootless caller.
func ProbeCgroup(rootless bool) Cgroup {
	c := Cgroup{Usable: map[string]bool{}}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		c.Mode = "v2"
	} else if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		c.Mode = "hybrid"
	} else {
		c.Mode = "v1"
	}
	controllers := []string{"memory", "cpu", "pids"}
	switch {
	case !rootless:
		for _, ctl := range controllers {
			c.Usable[ctl] = controllerMounted(c.Mode, ctl)
		}
		if !c.Usable["memory"] || !c.Usable["pids"] {
			c.Why = "a cgroup controller is not mounted; mount the memory, cpu and pids controllers"
		}
	case c.Mode == "v2":
		// Rootless limits work through systemd delegation: the user's
		// own cgroup must have the controllers enabled for it.
		own, err := ownCgroupV2()
		delegated := ""
		if err == nil {
			data, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup", own, "cgroup.controllers"))
			delegated = string(data)
		}
		for _, ctl := range controllers {
			c.Usable[ctl] = strings.Contains(" "+strings.TrimSpace(delegated)+" ", " "+ctl+" ")
		}
		c.Systemd = c.Usable["pids"] || c.Usable["memory"]
		if !c.Usable["memory"] || !c.Usable["pids"] || !c.Usable["cpu"] {
			c.Why = "enable delegation for your user: `sudo systemctl edit user@.service` with [Service] Delegate=memory pids cpu, then log in again"
		}
	default:
		c.Why = "rootless limits need cgroup v2 with systemd delegation; this host has cgroup " + c.Mode +
			" (boot with systemd.unified_cgroup_hierarchy=1, then delegate memory, pids and cpu to user@.service)"
	}
	return c
}

func controllerMounted(mode, ctl string) bool {
	if mode == "v2" {
		data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return err == nil && strings.Contains(" "+strings.TrimSpace(string(data))+" ", " "+ctl+" ")
	}
	for _, dir := range []string{ctl, ctl + ",cpuacct", "cpu,cpuacct"} {
		if ctl != "cpu" && dir != ctl {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", dir, "cgroup.procs")); err == nil {
			return true
		}
	}
	return false
}

func ownCgroupV2() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}

// Exist reports which of paths exist on the host (following symlinks).
func Exist(paths []string) map[string]bool {
	out := make(map[string]bool, len(paths))
	for _, p := range paths {
		_, err := os.Stat(p)
		out[p] = err == nil
	}
	return out
}
