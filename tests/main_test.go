// Package tests holds end-to-end tests of safe-run with the real runc:
// every assertion reads the kernel's truth from inside a container, in
// rootful mode (as root) and in rootless mode (as the unprivileged user
// safe-run-test, through runuser).
//
// Run as root: go test ./tests/ -v
package tests

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

const testUserName = "safe-run-test"

var (
	// skipAll is why every test skips (not root, no runc); empty to run.
	skipAll string
	// safeRun is the freshly built safe-run (safe-run-init sits next to it).
	safeRun string
	// testUser is the unprivileged user for rootless runs.
	testUser struct {
		uid, gid int
		home     string
	}
	// busybox is a static busybox for --rootfs, or "" with busyboxWhy.
	busybox, busyboxWhy string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipAll = "end-to-end tests need root (they create a user and run rootful containers)"
		return m.Run()
	}
	if _, err := exec.LookPath("runc"); err != nil {
		skipAll = "runc is not installed"
		return m.Run()
	}
	binDir, err := os.MkdirTemp("/tmp", "safe-run-e2e-bin-")
	if err != nil {
		return fatal("temp dir: %v", err)
	}
	defer os.RemoveAll(binDir)
	if err := os.Chmod(binDir, 0o755); err != nil {
		return fatal("chmod: %v", err)
	}
	if err := buildBinaries(binDir); err != nil {
		return fatal("%v", err)
	}
	safeRun = filepath.Join(binDir, "safe-run")
	probeDir = filepath.Join(binDir, "probe")
	if err := buildProbe(probeDir); err != nil {
		return fatal("%v", err)
	}
	if err := ensureTestUser(); err != nil {
		return fatal("%v", err)
	}
	busybox, busyboxWhy = ensureStaticBusybox()
	return m.Run()
}

func fatal(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "tests setup: "+format+"\n", args...)
	return 1
}

// buildBinaries builds safe-run and the static safe-run-init into dir.
func buildBinaries(dir string) error {
	builds := [][]string{
		{"go", "build", "-tags", "urfave_cli_no_docs,osusergo", "-o", filepath.Join(dir, "safe-run"), "./cmd/safe-run"},
		{"go", "build", "-ldflags=-s -w", "-o", filepath.Join(dir, "safe-run-init"), "./cmd/safe-run-init"},
	}
	for i, argv := range builds {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = ".." // the module root
		cmd.Env = os.Environ()
		if i == 1 {
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	for _, name := range []string{"safe-run", "safe-run-init"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// ensureTestUser creates safe-run-test (with a home and subordinate ids)
// if it does not exist yet.
func ensureTestUser() error {
	u, err := user.Lookup(testUserName)
	if err != nil {
		if out, err := exec.Command("useradd", "-m", testUserName).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd -m %s: %v: %s", testUserName, err, out)
		}
		if u, err = user.Lookup(testUserName); err != nil {
			return err
		}
	}
	data, _ := os.ReadFile("/etc/subuid")
	if !strings.Contains("\n"+string(data), "\n"+testUserName+":") {
		out, err := exec.Command("usermod", "--add-subuids", "300000-365535",
			"--add-subgids", "300000-365535", testUserName).CombinedOutput()
		if err != nil {
			return fmt.Errorf("usermod --add-subuids: %v: %s", err, out)
		}
	}
	fmt.Sscan(u.Uid, &testUser.uid)
	fmt.Sscan(u.Gid, &testUser.gid)
	testUser.home = u.HomeDir
	return nil
}

// ensureStaticBusybox returns the path of a statically linked busybox,
// installing busybox-static if needed, or "" and the reason.
func ensureStaticBusybox() (string, string) {
	const path = "/bin/busybox"
	if isStatic(path) {
		return path, ""
	}
	out, err := exec.Command("apt-get", "install", "-y", "busybox-static").CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("apt-get install -y busybox-static: %v: %s", err, out)
	}
	if !isStatic(path) {
		return "", path + " is not a static executable after installing busybox-static"
	}
	return path, ""
}

func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// requireE2E skips when the host cannot run the suite at all.
func requireE2E(t *testing.T) {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
}

// probeDir holds the static syscall probe (tests/probe/probe.c); seccomp
// tests bind it into containers at /probe.
var probeDir string

// buildProbe compiles the probe statically into dir (gcc and libc.a come
// with the build tools make installs).
func buildProbe(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("gcc", "-static", "-O2", "-o", filepath.Join(dir, "probe"), "probe/probe.c").CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the syscall probe: %v\n%s", err, out)
	}
	return nil
}
