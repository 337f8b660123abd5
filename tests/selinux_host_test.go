package tests

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSELinuxOnThisHost: SELinux is off here, so `required` is refused
// before anything runs, `auto` runs without labels and says so, and the
// spec carries no label (runc refuses labels on a host without SELinux).
// The labels themselves are verified in an enforcing VM (tests/selinux).
func TestSELinuxOnThisHost(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			dir, err := os.MkdirTemp("/tmp", "safe-run-e2e-selinux-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chmod(dir, 0o755)
			writeFile(t, filepath.Join(dir, "labelled.yaml"), "description: needs labels\nselinux: {mode: required}\n")
			r := e.run("--profile-dir", dir, "labelled", "--", "sh", "-c", "echo RAN")
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, `selinux.mode is "required" but SELinux is not enabled on this host`)
			if r.stdout != "" {
				t.Errorf("the program ran: %q", r.stdout)
			}
			r = e.run("--log-level", "info", "default", "--", "true")
			wantCode(t, r, 0)
			wantContains(t, "stderr", r.stderr, "SELinux is not enabled on this host: the container gets no SELinux labels")
		})
	}
}
