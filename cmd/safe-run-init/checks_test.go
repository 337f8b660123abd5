package main

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseArgs(t *testing.T) {
	sp, argv, err := parseArgs([]string{"--check", "caps=0x400", "--check=nnp=1", "--check", "seccomp=2",
		"--check", "ro=/", "--check", "ro=/usr", "--check", "pids=256", "--check", "memory=1048576",
		"--check", "cpu=50000/100000", "--", "prog", "--check", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(argv, " ") != "prog --check x" {
		t.Errorf("argv = %q", argv)
	}
	if *sp.caps != 0x400 || !sp.nnp || !sp.seccomp || len(sp.ro) != 2 || *sp.pids != 256 ||
		*sp.memory != 1048576 || *sp.cpu != [2]int64{50000, 100000} {
		t.Errorf("spec = %+v", sp)
	}
	if sp, _, err := parseArgs([]string{"--check", "caps=0", "--", "p"}); err != nil || *sp.caps != 0 {
		t.Errorf("caps=0: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--check", "bogus=1", "--", "p"}, `bad check "bogus=1": unknown check "bogus"`},
		{[]string{"--check", "caps", "--", "p"}, `bad check "caps": want KEY=VALUE`},
		{[]string{"--check", "caps=xyz", "--", "p"}, `bad check "caps=xyz": want a hexadecimal`},
		{[]string{"--check", "caps=0x", "--", "p"}, `bad check "caps=0x": want a hexadecimal`},
		{[]string{"--check", "caps=0", "--check", "caps=0", "--", "p"}, `bad check "caps=0": caps given twice`},
		{[]string{"--check", "nnp=0", "--", "p"}, `bad check "nnp=0": only nnp=1`},
		{[]string{"--check", "nnp=1", "--check", "nnp=1", "--", "p"}, `nnp given twice`},
		{[]string{"--check", "seccomp=1", "--", "p"}, `bad check "seccomp=1": only seccomp=2`},
		{[]string{"--check", "ro=usr", "--", "p"}, `bad check "ro=usr": want an absolute path`},
		{[]string{"--check", "pids=", "--", "p"}, `bad check "pids=": empty value`},
		{[]string{"--check", "pids=-1", "--", "p"}, `bad check "pids=-1": want a positive`},
		{[]string{"--check", "pids=1", "--check", "pids=2", "--", "p"}, `pids given twice`},
		{[]string{"--check", "memory=1G", "--", "p"}, `bad check "memory=1G": want a positive`},
		{[]string{"--check", "memory=1", "--check", "memory=1", "--", "p"}, `memory given twice`},
		{[]string{"--check", "cpu=50000", "--", "p"}, `bad check "cpu=50000": want QUOTA/PERIOD`},
		{[]string{"--check", "cpu=a/b", "--", "p"}, `want QUOTA/PERIOD`},
		{[]string{"--check", "cpu=0/100000", "--", "p"}, `want QUOTA/PERIOD`},
		{[]string{"--check"}, `--check needs KEY=VALUE`},
		{[]string{"prog"}, `unexpected argument "prog"`},
		{[]string{"--check", "nnp=1"}, `missing "--"`},
		{[]string{"--"}, `no program given`},
		{[]string{"--", ""}, `no program given`},
	} {
		_, _, err := parseArgs(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseArgs(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
	// The whole flow: a bad check is an internal error, reported as such.
	var out strings.Builder
	if code := run([]string{"--check", "x=1", "--", "true"}, newChecker(), testSubscription(t), &out); code != 125 {
		t.Errorf("code = %d", code)
	}
	if !strings.HasPrefix(out.String(), `safe-run-init: bad check "x=1": `) {
		t.Errorf("stderr = %q", out.String())
	}
}

const goodStatus = `Name:	safe-run-init
Umask:	0022
State:	R (running)
CapInh:	0000000000000000
CapPrm:	0000000000000400
CapEff:	0000000000000400
CapBnd:	0000000000000400
CapAmb:	0000000000000000
NoNewPrivs:	1
Seccomp:	2
Seccomp_filters:	1
Speculation_Store_Bypass:	thread force mitigated
`

// fakeStatus writes a /proc/self/status with the given field replacements.
func fakeStatus(t *testing.T, repl ...string) *checker {
	t.Helper()
	p := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(p, []byte(strings.NewReplacer(repl...).Replace(goodStatus)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &checker{procStatus: p, cgroupRoot: t.TempDir(), statfs: unix.Statfs}
}

func verifyLines(c *checker, args ...string) []string {
	sp := &spec{}
	for _, a := range args {
		if err := sp.parse(a); err != nil {
			panic(err)
		}
	}
	return c.verify(sp)
}

func TestStatusChecks(t *testing.T) {
	all := []string{"caps=0x400", "nnp=1", "seccomp=2"}
	if got := verifyLines(fakeStatus(t), all...); len(got) != 0 {
		t.Errorf("good status: %q", got)
	}
	for _, tc := range []struct {
		name string
		repl []string
		want []string
	}{
		{"nnp", []string{"NoNewPrivs:\t1", "NoNewPrivs:\t0"},
			[]string{"NoNewPrivs is 0, expected 1 (setuid binaries could gain privileges)"}},
		{"seccomp", []string{"Seccomp:\t2", "Seccomp:\t0"},
			[]string{"Seccomp is 0 (disabled), expected 2 (filter) (system calls would not be filtered)"}},
		{"seccomp strict", []string{"Seccomp:\t2", "Seccomp:\t1"},
			[]string{"Seccomp is 1 (strict), expected 2 (filter) (system calls would not be filtered)"}},
		{"seccomp missing", []string{"Seccomp:\t2\n", ""},
			[]string{"Seccomp is unknown (no Seccomp line in "}},
		{"extra cap", []string{"CapEff:\t0000000000000400", "CapEff:\t0000000000200400"},
			[]string{"capabilities in CapEff are CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN, expected CAP_NET_BIND_SERVICE (the program would hold privileges that were not granted)"}},
		{"extra caps everywhere", []string{"0000000000000400", "0000000000200400"},
			[]string{"capabilities in CapEff/CapPrm/CapBnd are CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN, expected CAP_NET_BIND_SERVICE"}},
		{"missing cap", []string{"CapBnd:\t0000000000000400", "CapBnd:\t0000000000000000"},
			[]string{"capabilities in CapBnd are none, expected CAP_NET_BIND_SERVICE"}},
		{"ambient", []string{"CapAmb:\t0000000000000000", "CapAmb:\t0000000000000400"},
			[]string{"capabilities in CapAmb are CAP_NET_BIND_SERVICE, expected none (programs it executes could gain these capabilities)"}},
		{"inheritable", []string{"CapInh:\t0000000000000000", "CapInh:\t0000000000000001"},
			[]string{"capabilities in CapInh are CAP_CHOWN, expected none"}},
		{"unparsable", []string{"CapEff:\t0000000000000400", "CapEff:\tzz"},
			[]string{`capabilities in CapEff are unknown (unparsable value "zz"), expected CAP_NET_BIND_SERVICE`}},
		{"all bad", []string{"NoNewPrivs:\t1", "NoNewPrivs:\t0", "Seccomp:\t2", "Seccomp:\t0", "CapEff:\t0000000000000400", "CapEff:\t0000000000000401"},
			[]string{"capabilities in CapEff are CAP_CHOWN, CAP_NET_BIND_SERVICE,", "NoNewPrivs is 0", "Seccomp is 0"}},
	} {
		got := verifyLines(fakeStatus(t, tc.repl...), all...)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %q, want %d lines", tc.name, got, len(tc.want))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: line %d = %q, want prefix %q", tc.name, i, got[i], tc.want[i])
			}
		}
	}

	// caps=0 against a process that kept CAP_SYS_ADMIN.
	c := fakeStatus(t, "0000000000000400", "0000000000200000")
	got := verifyLines(c, "caps=0")
	want := "capabilities in CapEff/CapPrm/CapBnd are CAP_SYS_ADMIN, expected none (the program would hold privileges that were not granted)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("caps=0: %q", got)
	}

	// An unreadable status file fails every control that needs it.
	c = &checker{procStatus: filepath.Join(t.TempDir(), "nope"), statfs: unix.Statfs}
	got = verifyLines(c, all...)
	if len(got) != 3 {
		t.Fatalf("missing status: %q", got)
	}
	for _, l := range got {
		if !strings.Contains(l, "nope: no such file or directory") {
			t.Errorf("missing status: %q lacks the path", l)
		}
	}
}

func TestReadOnly(t *testing.T) {
	c := &checker{statfs: func(p string, st *unix.Statfs_t) error {
		switch p {
		case "/":
			st.Flags = unix.ST_RDONLY | unix.ST_NOSUID
		case "/usr":
			st.Flags = unix.ST_NOSUID
		default:
			return unix.ENOENT
		}
		return nil
	}}
	got := verifyLines(c, "ro=/", "ro=/usr", "ro=/data")
	want := []string{
		"/usr is writable, expected read-only (the program could modify files that must stay unchanged)",
		"/data is unknown (statfs: no such file or directory), expected read-only (the program could modify files that must stay unchanged)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q", got)
	}
	// And the real thing: a temporary directory is writable.
	c = newChecker()
	if got := verifyLines(c, "ro="+t.TempDir()); len(got) != 1 || !strings.Contains(got[0], "is writable") {
		t.Errorf("tempdir: %q", got)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var limitChecks = []string{"pids=256", "memory=536870912", "cpu=50000/100000"}

func TestCgroupV2(t *testing.T) {
	good := map[string]string{
		"cgroup.controllers": "cpu memory pids\n",
		"pids.max":           "256\n",
		"memory.max":         "536870912\n",
		"cpu.max":            "50000 100000\n",
	}
	c := &checker{cgroupRoot: writeTree(t, good)}
	if got := verifyLines(c, limitChecks...); len(got) != 0 {
		t.Errorf("good v2: %q", got)
	}
	bad := map[string]string{
		"cgroup.controllers": "cpu memory\n",
		"memory.max":         "max\n",
		"cpu.max":            "max 100000\n",
	}
	c = &checker{cgroupRoot: writeTree(t, bad)}
	got := verifyLines(c, limitChecks...)
	want := []string{
		"pids limit is unknown (open " + c.cgroupRoot + "/pids.max: no such file or directory), expected 256 (a fork bomb could exhaust the host's processes)",
		"memory limit is max, expected 536870912 bytes (the program could exhaust the host's memory)",
		"CPU quota is max/100000, expected 50000/100000 (the program could use more CPU time than allowed)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bad v2:\n%s", strings.Join(got, "\n"))
	}
	c = &checker{cgroupRoot: writeTree(t, map[string]string{
		"cgroup.controllers": "", "pids.max": "max\n", "memory.max": "1048576\n", "cpu.max": "100000 100000\n",
	})}
	got = verifyLines(c, limitChecks...)
	if len(got) != 3 || !strings.HasPrefix(got[0], "pids limit is max, expected 256 (") ||
		!strings.HasPrefix(got[1], "memory limit is 1048576 bytes, expected 536870912 bytes (") ||
		!strings.HasPrefix(got[2], "CPU quota is 100000/100000, expected 50000/100000 (") {
		t.Errorf("wrong v2 limits:\n%s", strings.Join(got, "\n"))
	}
}

func TestCgroupV1(t *testing.T) {
	good := map[string]string{
		"pids/pids.max":                  "256\n",
		"memory/memory.limit_in_bytes":   "536870912\n",
		"cpu,cpuacct/cpu.cfs_quota_us":   "50000\n",
		"cpu,cpuacct/cpu.cfs_period_us":  "100000\n",
		"memory/memory.oom_control":      "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		"unified/cgroup.controllers.not": "",
	}
	c := &checker{cgroupRoot: writeTree(t, good)}
	if got := verifyLines(c, limitChecks...); len(got) != 0 {
		t.Errorf("good v1: %q", got)
	}
	// The kernel rounds a memory limit down to whole pages.
	c = &checker{cgroupRoot: writeTree(t, map[string]string{
		"pids/pids.max": "256", "memory/memory.limit_in_bytes": "1048576",
		"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000",
	})}
	if got := verifyLines(c, "pids=256", "memory=1050000", "cpu=50000/100000"); len(got) != 0 {
		t.Errorf("rounded v1: %q", got)
	}
	bad := map[string]string{
		"pids/pids.max":                "max\n",
		"memory/memory.limit_in_bytes": "9223372036854771712\n",
		"cpu/cpu.cfs_quota_us":         "-1\n",
		"cpu/cpu.cfs_period_us":        "100000\n",
	}
	c = &checker{cgroupRoot: writeTree(t, bad)}
	got := verifyLines(c, limitChecks...)
	want := []string{
		"pids limit is max, expected 256 (a fork bomb could exhaust the host's processes)",
		"memory limit is max, expected 536870912 bytes (the program could exhaust the host's memory)",
		"CPU quota is max/100000, expected 50000/100000 (the program could use more CPU time than allowed)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bad v1:\n%s", strings.Join(got, "\n"))
	}
	// No cgroup files at all: every limit fails closed, naming the path.
	c = &checker{cgroupRoot: t.TempDir()}
	got = verifyLines(c, limitChecks...)
	if len(got) != 3 {
		t.Fatalf("empty v1: %q", got)
	}
	for i, p := range []string{"/pids/pids.max", "/memory/memory.limit_in_bytes", "/cpu/cpu.cfs_quota_us"} {
		if !strings.Contains(got[i], c.cgroupRoot+p+": no such file or directory") {
			t.Errorf("empty v1 line %d = %q, want path %s", i, got[i], p)
		}
	}
}

func TestOOMMessage(t *testing.T) {
	c := &checker{cgroupRoot: writeTree(t, map[string]string{
		"cgroup.controllers": "",
		"memory.events":      "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
		"memory.max":         "268435456\n",
	})}
	want := "safe-run: the program was killed by the kernel's OOM killer: the memory limit (256 MiB) was reached (raise resources.memory or --memory)"
	if got := c.oomMessage(); got != want {
		t.Errorf("v2: %q", got)
	}
	c = &checker{cgroupRoot: writeTree(t, map[string]string{
		"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
	})}
	want = "safe-run: the program was killed by the kernel's OOM killer: the memory limit was reached (raise resources.memory or --memory)"
	if got := c.oomMessage(); got != want {
		t.Errorf("v1 without limit: %q", got)
	}
	c = &checker{cgroupRoot: writeTree(t, map[string]string{
		"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
	})}
	if got := c.oomMessage(); got != "" {
		t.Errorf("no OOM kill: %q", got)
	}
}

func TestExitCode(t *testing.T) {
	// Wait statuses as the kernel encodes them.
	if got := exitCode(unix.WaitStatus(7 << 8)); got != 7 {
		t.Errorf("exited 7 -> %d", got)
	}
	if got := exitCode(unix.WaitStatus(unix.SIGTERM)); got != 143 {
		t.Errorf("SIGTERM -> %d", got)
	}
	if got := exitCode(unix.WaitStatus(unix.SIGKILL | 0x80)); got != 137 {
		t.Errorf("SIGKILL with core -> %d", got)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "yes"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "/nonexistent:" + dir
	if p, code, _ := lookPath("yes", path); code != 0 || p != dir+"/yes" {
		t.Errorf("yes: %q %d", p, code)
	}
	if _, code, msg := lookPath("nothere", path); code != 127 || msg != "command not found" {
		t.Errorf("nothere: %d %q", code, msg)
	}
	if _, code, _ := lookPath("adir", path); code != 127 {
		t.Errorf("adir: %d", code)
	}
	if _, code, msg := lookPath("noexec", path); code != 126 || !strings.Contains(msg, "permission denied") {
		t.Errorf("noexec: %d %q", code, msg)
	}
	if code, _ := startError("/x", &os.PathError{Op: "fork/exec", Path: "/x", Err: unix.ENOENT}); code != 127 {
		t.Errorf("ENOENT -> %d", code)
	}
	for _, e := range []error{unix.EACCES, unix.ENOEXEC, unix.EISDIR, unix.EPERM} {
		if code, msg := startError("/x", &os.PathError{Op: "fork/exec", Path: "/x", Err: e}); code != 126 || !strings.HasPrefix(msg, "cannot execute: ") {
			t.Errorf("%v -> %d %q", e, code, msg)
		}
	}
	if code, _ := startError("/x", errors.New("weird")); code != 126 {
		t.Errorf("other -> %d", code)
	}
}

// TestRun runs programs through the real start/forward/reap path (not as
// PID 1, so only our own child is waited for).
func TestRun(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badInterp := filepath.Join(dir, "badinterp")
	if err := os.WriteFile(badInterp, []byte("#!/nonexistent/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "marker")
	c := &checker{procStatus: "/proc/self/status", cgroupRoot: t.TempDir(), statfs: unix.Statfs}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"exit 7", []string{"--", "/bin/sh", "-c", "exit 7"}, 7, ""},
		{"exit 0 via PATH", []string{"--", "sh", "-c", "exit 0"}, 0, ""},
		{"SIGTERM", []string{"--", "sh", "-c", "kill -TERM $$"}, 143, ""},
		{"SIGKILL without OOM", []string{"--", "sh", "-c", "kill -KILL $$"}, 137, ""},
		{"not found", []string{"--", "safe-run-no-such-program"}, 127, "safe-run: safe-run-no-such-program: command not found\n"},
		{"no such path", []string{"--", dir + "/nope"}, 127, "safe-run: " + dir + "/nope: command not found\n"},
		{"not executable", []string{"--", noexec}, 126, "safe-run: " + noexec + ": cannot execute: permission denied\n"},
		{"directory", []string{"--", dir}, 126, "safe-run: " + dir + ": cannot execute: "},
		{"missing interpreter", []string{"--", badInterp}, 126, "safe-run: " + badInterp + ": cannot execute: no such file or directory (its #! interpreter"},
		{"check fails", []string{"--check", "ro=" + dir, "--", "touch", marker}, 125, "safe-run: refusing to run: " + dir + " is writable, expected read-only"},
		{"usage", []string{"true"}, 125, "safe-run-init: unexpected argument"},
	} {
		var out strings.Builder
		code := run(tc.args, c, testSubscription(t), &out)
		if code != tc.code {
			t.Errorf("%s: code %d, want %d (stderr %q)", tc.name, code, tc.code, out.String())
		}
		if !strings.HasPrefix(out.String(), tc.stderr) || (tc.stderr == "" && out.String() != "") {
			t.Errorf("%s: stderr %q, want prefix %q", tc.name, out.String(), tc.stderr)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran although a check failed")
	}
}

// TestForward checks that a signal sent to the init reaches the program.
func TestForward(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	done := make(chan int)
	sub := testSubscription(t)
	go func() {
		var out strings.Builder
		// The shell exits 42 on SIGUSR1, and only then.
		done <- run([]string{"--", "sh", "-c", "trap 'exit 42' USR1; touch " + ready + "; while :; do sleep 0.05; done"},
			&checker{}, sub, &out)
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i > 400 {
			t.Fatal("the program never started")
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 10_000_000}, nil)
	}
	if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 42 {
		t.Errorf("code = %d, want 42", code)
	}
}

// testSubscription subscribes to signals like main does, and stops the
// subscription when the test ends.
func testSubscription(t *testing.T) *subscription {
	s := subscribe()
	t.Cleanup(func() { signal.Stop(s.all); signal.Stop(s.chld) })
	return s
}
