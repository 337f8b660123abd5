package main

import (
	"errors"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safe-run/safe-run/internal/caps"
)

// spec is the set of controls to verify, from the --check flags:
//
//	caps=HEX      CapEff, CapPrm and CapBnd equal HEX; CapInh and CapAmb are 0
//	nnp=1         NoNewPrivs is 1
//	seccomp=2     Seccomp is 2 (filter mode)
//	ro=PATH       PATH is on a read-only mount (may repeat)
//	pids=N        the cgroup's pids limit is N
//	memory=N      the cgroup's memory limit is N bytes
//	cpu=Q/P       the cgroup's CPU quota is Q microseconds per period P
//	net=route     wait (bounded) for a default route before the program
//	              starts: pasta configures a private network from outside
type spec struct {
	caps    *uint64
	nnp     bool
	seccomp bool
	ro      []string
	pids    *int64
	memory  *int64
	cpu     *[2]int64 // quota, period
	net     bool
}

// checkError is a malformed --check.
type checkError struct{ kv, why string }

func (e *checkError) Error() string { return "bad check " + quote(e.kv) + ": " + e.why }

// parse adds one KEY=VALUE check to the spec.
func (sp *spec) parse(kv string) error {
	bad := func(why string) error { return &checkError{kv, why} }
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return bad("want KEY=VALUE")
	}
	if val == "" {
		return bad("empty value")
	}
	twice := bad(key + " given twice")
	switch key {
	case "caps":
		if sp.caps != nil {
			return twice
		}
		h := strings.TrimPrefix(strings.TrimPrefix(val, "0x"), "0X")
		m, err := strconv.ParseUint(h, 16, 64)
		if err != nil || h == "" {
			return bad("want a hexadecimal capability mask such as 0 or 0x400")
		}
		sp.caps = &m
	case "nnp":
		if sp.nnp {
			return twice
		}
		if val != "1" {
			return bad("only nnp=1 can be checked")
		}
		sp.nnp = true
	case "seccomp":
		if sp.seccomp {
			return twice
		}
		if val != "2" {
			return bad("only seccomp=2 (filter mode) can be checked")
		}
		sp.seccomp = true
	case "ro":
		if !path.IsAbs(val) {
			return bad("want an absolute path")
		}
		sp.ro = append(sp.ro, val)
	case "pids", "memory":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 {
			return bad("want a positive decimal number")
		}
		p := &sp.pids
		if key == "memory" {
			p = &sp.memory
		}
		if *p != nil {
			return twice
		}
		*p = &n
	case "cpu":
		if sp.cpu != nil {
			return twice
		}
		q, p, ok := strings.Cut(val, "/")
		quota, err1 := strconv.ParseInt(q, 10, 64)
		period, err2 := strconv.ParseInt(p, 10, 64)
		if !ok || err1 != nil || err2 != nil || quota <= 0 || period <= 0 {
			return bad("want QUOTA/PERIOD in microseconds, such as 50000/100000")
		}
		sp.cpu = &[2]int64{quota, period}
	case "net":
		if sp.net {
			return twice
		}
		if val != "route" {
			return bad("only net=route (wait for a default route) can be checked")
		}
		sp.net = true
	default:
		return bad("unknown check " + quote(key) + " (want caps, nnp, seccomp, ro, pids, memory, cpu or net)")
	}
	return nil
}

// checker verifies a spec. Its paths are fields so that tests can point
// them at fake files.
type checker struct {
	procStatus string // /proc/self/status
	cgroupRoot string // the container's own cgroup (cgroup namespace root)
	statfs     func(path string, st *unix.Statfs_t) error
	procRoot   string        // /proc (for net=route)
	netTimeout time.Duration // 0: netTimeout
}

func newChecker() *checker {
	return &checker{procStatus: "/proc/self/status", cgroupRoot: "/sys/fs/cgroup", statfs: unix.Statfs}
}

// failure renders one refused control; the caller prefixes
// "safe-run: refusing to run: ".
func failure(whatIsActual, expected, consequence string) string {
	return whatIsActual + ", expected " + expected + " (" + consequence + ")"
}

// verify runs every check in sp and returns one message per control that
// is not in force (nil when all are).
func (c *checker) verify(sp *spec) []string {
	var out []string
	add := func(msgs ...string) {
		for _, m := range msgs {
			if m != "" {
				out = append(out, m)
			}
		}
	}
	if sp.caps != nil || sp.nnp || sp.seccomp {
		status, err := c.readStatus()
		if sp.caps != nil {
			add(c.checkCaps(status, err, *sp.caps)...)
		}
		if sp.nnp {
			add(c.checkNNP(status, err))
		}
		if sp.seccomp {
			add(c.checkSeccomp(status, err))
		}
	}
	for _, p := range sp.ro {
		add(c.checkRO(p))
	}
	if sp.pids != nil {
		add(c.checkPids(*sp.pids))
	}
	if sp.memory != nil {
		add(c.checkMemory(*sp.memory))
	}
	if sp.cpu != nil {
		add(c.checkCPU(sp.cpu[0], sp.cpu[1]))
	}
	return out
}

// readStatus parses /proc/self/status into its "Key:\tvalue" fields.
func (c *checker) readStatus() (map[string]string, error) {
	data, err := os.ReadFile(c.procStatus)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields, nil
}

// statusField returns a field of /proc/self/status, or a description of
// why it is unknown for use as the "actual" part of a failure.
func (c *checker) statusField(status map[string]string, readErr error, key string) (string, string) {
	if readErr != nil {
		return "", "unknown (" + readErr.Error() + ")"
	}
	v, ok := status[key]
	if !ok {
		return "", "unknown (no " + key + " line in " + c.procStatus + ")"
	}
	return v, ""
}

func capList(mask uint64) string {
	if mask == 0 {
		return "none"
	}
	return strings.Join(caps.Names(mask), ", ")
}

// checkCaps compares the capability sets with want. Sets that differ in
// the same way are reported on one line.
func (c *checker) checkCaps(status map[string]string, readErr error, want uint64) []string {
	if readErr != nil {
		return []string{failure("capabilities are unknown ("+readErr.Error()+")", capList(want),
			"the program could hold privileges that were not granted")}
	}
	type result struct {
		fields         []string
		actual, expect string
		consequence    string
	}
	var results []*result
	report := func(field, actual, expect, consequence string) {
		for _, r := range results {
			if r.actual == actual && r.expect == expect && r.consequence == consequence {
				r.fields = append(r.fields, field)
				return
			}
		}
		results = append(results, &result{[]string{field}, actual, expect, consequence})
	}
	for _, f := range []struct {
		name string
		want uint64
	}{{"CapEff", want}, {"CapPrm", want}, {"CapBnd", want}, {"CapInh", 0}, {"CapAmb", 0}} {
		v, ok := status[f.name]
		if !ok {
			report(f.name, "unknown (no "+f.name+" line in "+c.procStatus+")", capList(f.want),
				"the program could hold privileges that were not granted")
			continue
		}
		got, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			report(f.name, "unknown (unparsable value "+quote(v)+")", capList(f.want),
				"the program could hold privileges that were not granted")
			continue
		}
		if got == f.want {
			continue
		}
		consequence := "the program would hold privileges that were not granted"
		switch {
		case f.name == "CapInh" || f.name == "CapAmb":
			consequence = "programs it executes could gain these capabilities"
		case got&^f.want == 0:
			consequence = "the container was not set up as requested"
		}
		report(f.name, capList(got), capList(f.want), consequence)
	}
	var out []string
	for _, r := range results {
		out = append(out, failure("capabilities in "+strings.Join(r.fields, "/")+" are "+r.actual,
			r.expect, r.consequence))
	}
	return out
}

func (c *checker) checkNNP(status map[string]string, readErr error) string {
	const consequence = "setuid binaries could gain privileges"
	v, unknown := c.statusField(status, readErr, "NoNewPrivs")
	if unknown != "" {
		return failure("NoNewPrivs is "+unknown, "1", consequence)
	}
	if v != "1" {
		return failure("NoNewPrivs is "+v, "1", consequence)
	}
	return ""
}

func (c *checker) checkSeccomp(status map[string]string, readErr error) string {
	const consequence = "system calls would not be filtered"
	v, unknown := c.statusField(status, readErr, "Seccomp")
	if unknown != "" {
		return failure("Seccomp is "+unknown, "2 (filter)", consequence)
	}
	if v != "2" {
		mode := map[string]string{"0": "0 (disabled)", "1": "1 (strict)"}[v]
		if mode == "" {
			mode = v
		}
		return failure("Seccomp is "+mode, "2 (filter)", consequence)
	}
	return ""
}

func (c *checker) checkRO(p string) string {
	const consequence = "the program could modify files that must stay unchanged"
	var st unix.Statfs_t
	if err := c.statfs(p, &st); err != nil {
		return failure(p+" is unknown (statfs: "+err.Error()+")", "read-only", consequence)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		return failure(p+" is writable", "read-only", consequence)
	}
	return ""
}

// cgroupV2 reports whether the container's cgroup is a cgroup v2 one: only
// a v2 cgroup directory has cgroup.controllers.
func (c *checker) cgroupV2() bool {
	_, err := os.Stat(c.cgroupRoot + "/cgroup.controllers")
	return err == nil
}

// readCgroup returns the trimmed contents of the first of the files (paths
// relative to the cgroup root) that exists. The error names the path.
func (c *checker) readCgroup(rel ...string) (string, error) {
	var firstErr error
	for _, r := range rel {
		data, err := os.ReadFile(c.cgroupRoot + "/" + r)
		if err == nil {
			return strings.TrimSpace(string(data)), nil
		}
		if firstErr == nil || !errors.Is(err, os.ErrNotExist) {
			firstErr = err
		}
	}
	return "", firstErr
}

func (c *checker) checkPids(want int64) string {
	const consequence = "a fork bomb could exhaust the host's processes"
	rel := "pids/pids.max"
	if c.cgroupV2() {
		rel = "pids.max"
	}
	v, err := c.readCgroup(rel)
	expected := strconv.FormatInt(want, 10)
	if err != nil {
		return failure("pids limit is unknown ("+err.Error()+")", expected, consequence)
	}
	if v != expected {
		return failure("pids limit is "+v, expected, consequence)
	}
	return ""
}

// unlimitedV1 is the smallest value cgroup v1 uses to mean "no limit"
// (PAGE_COUNTER_MAX rounded to pages, shown as 9223372036854771712).
const unlimitedV1 = 1 << 62

// memoryLimit reads the memory limit: "max", or a number of bytes.
func (c *checker) memoryLimit() (string, error) {
	if c.cgroupV2() {
		return c.readCgroup("memory.max")
	}
	v, err := c.readCgroup("memory/memory.limit_in_bytes")
	if n, perr := strconv.ParseInt(v, 10, 64); err == nil && perr == nil && n >= unlimitedV1 {
		return "max", nil
	}
	return v, err
}

func (c *checker) checkMemory(want int64) string {
	const consequence = "the program could exhaust the host's memory"
	expected := strconv.FormatInt(want, 10) + " bytes"
	v, err := c.memoryLimit()
	if err != nil {
		return failure("memory limit is unknown ("+err.Error()+")", expected, consequence)
	}
	got, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil {
		return failure("memory limit is "+v, expected, consequence)
	}
	// The kernel stores the limit in pages and rounds down.
	if got == want || got == want&^4095 || got == want&^int64(os.Getpagesize()-1) {
		return ""
	}
	return failure("memory limit is "+v+" bytes", expected, consequence)
}

func (c *checker) checkCPU(quota, period int64) string {
	const consequence = "the program could use more CPU time than allowed"
	expected := strconv.FormatInt(quota, 10) + "/" + strconv.FormatInt(period, 10)
	var q, p string
	if c.cgroupV2() {
		v, err := c.readCgroup("cpu.max")
		if err != nil {
			return failure("CPU quota is unknown ("+err.Error()+")", expected, consequence)
		}
		f := strings.Fields(v)
		if len(f) != 2 {
			return failure("CPU quota is unknown (unparsable cpu.max "+quote(v)+")", expected, consequence)
		}
		q, p = f[0], f[1]
	} else {
		// cpu is often co-mounted with cpuacct; runc links cpu to
		// cpu,cpuacct but not every host does.
		var err error
		q, err = c.readCgroup("cpu/cpu.cfs_quota_us", "cpu,cpuacct/cpu.cfs_quota_us")
		if err != nil {
			return failure("CPU quota is unknown ("+err.Error()+")", expected, consequence)
		}
		p, err = c.readCgroup("cpu/cpu.cfs_period_us", "cpu,cpuacct/cpu.cfs_period_us")
		if err != nil {
			return failure("CPU quota is unknown ("+err.Error()+")", expected, consequence)
		}
		if q == "-1" {
			q = "max"
		}
	}
	gotQ, err1 := strconv.ParseInt(q, 10, 64)
	gotP, err2 := strconv.ParseInt(p, 10, 64)
	if err1 != nil || err2 != nil || gotQ != quota || gotP != period {
		return failure("CPU quota is "+q+"/"+p, expected, consequence)
	}
	return ""
}

func quote(s string) string { return strconv.Quote(s) }
