package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIsolationFromInside reads the kernel's view of a container process,
// rootful and rootless, with the default profile.
func TestIsolationFromInside(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Run("all_capability_sets_empty_no_new_privs_seccomp_filter", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.run("default", "--", "cat", "/proc/self/status")
				wantCode(t, r, 0)
				status := parseStatus(r.stdout)
				for _, key := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
					if got := status[key]; got != "0000000000000000" {
						t.Errorf("%s = %q, want 0000000000000000", key, got)
					}
				}
				if got := status["NoNewPrivs"]; got != "1" {
					t.Errorf("NoNewPrivs = %q, want 1", got)
				}
				if got := status["Seccomp"]; got != "2" {
					t.Errorf("Seccomp = %q, want 2 (filter)", got)
				}
			})

			t.Run("root_and_usr_read_only_tmp_writable_tmpfs", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.inside(`touch /probe 2>&1; touch /usr/probe 2>&1; ` +
					`touch /tmp/probe && echo TMP_WRITABLE; grep " /tmp " /proc/self/mounts`)
				wantCode(t, r, 0)
				wantContains(t, "stdout", r.stdout, "'/probe': Read-only file system")
				wantContains(t, "stdout", r.stdout, "'/usr/probe': Read-only file system")
				wantContains(t, "stdout", r.stdout, "TMP_WRITABLE")
				wantContains(t, "/proc/self/mounts", r.stdout, "tmpfs /tmp tmpfs")
			})

			t.Run("mount_is_denied", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.inside(`mount -t tmpfs x /tmp && echo MOUNTED`)
				if r.code == 0 || strings.Contains(r.stdout, "MOUNTED") {
					t.Fatalf("mount succeeded inside the container: %s", r)
				}
			})

			for _, flag := range []string{"-U", "-r"} {
				t.Run("unshare_"+flag+"_denied_by_seccomp", func(t *testing.T) {
					e := newEnv(t, m)
					r := e.run("default", "--", "unshare", flag, "true")
					if r.code == 0 {
						t.Fatalf("unshare %s true succeeded: a user namespace could be created: %s", flag, r)
					}
					wantContains(t, "stderr", r.stderr, "Operation not permitted")
				})
			}

			t.Run("only_loopback_interface", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.run("default", "--", "cat", "/proc/net/dev")
				wantCode(t, r, 0)
				if got := interfaces(r.stdout); len(got) != 1 || got[0] != "lo" {
					t.Errorf("interfaces = %v, want only [lo]:\n%s", got, r.stdout)
				}
			})

			t.Run("caller_home_ssh_and_slash_home_absent", func(t *testing.T) {
				e := newEnv(t, m)
				plantSSHKey(t, e)
				r := e.run("default", "--", "sh", "-c",
					`ls "$1"; echo "ls_home=$?"; test -e "$1/.ssh"; echo "ssh=$?"; test -e /home; echo "slash_home=$?"`,
					"sh", e.home)
				wantCode(t, r, 0)
				if strings.Contains(r.stdout, "ls_home=0") {
					t.Errorf("ls %s succeeded inside the container:\n%s", e.home, r.stdout)
				}
				wantContains(t, "stdout", r.stdout, "ssh=1")
				wantContains(t, "stdout", r.stdout, "slash_home=1")
				if strings.Contains(r.stdout, "id_test") {
					t.Errorf("the caller's ssh key is visible inside:\n%s", r.stdout)
				}
			})

			t.Run("runs_as_nobody_65534", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.inside(`id -u; id -g`)
				wantCode(t, r, 0)
				if got := strings.Fields(r.stdout); len(got) != 2 || got[0] != "65534" || got[1] != "65534" {
					t.Errorf("uid/gid inside = %q, want 65534 65534", r.stdout)
				}
			})
		})
	}
}

// parseStatus turns /proc/PID/status into key -> value.
func parseStatus(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// interfaces lists the interface names of /proc/net/dev.
func interfaces(procNetDev string) []string {
	var names []string
	lines := strings.Split(strings.TrimSpace(procNetDev), "\n")
	for _, line := range lines[min(2, len(lines)):] { // two header lines
		if name, _, ok := strings.Cut(line, ":"); ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

// plantSSHKey makes sure HOME/.ssh/id_test exists on the host for the
// caller, removing what it created when the test ends.
func plantSSHKey(t *testing.T, e *env) {
	t.Helper()
	dir := filepath.Join(e.home, ".ssh")
	key := filepath.Join(dir, "id_test")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(dir) })
	}
	if _, err := os.Stat(key); os.IsNotExist(err) {
		writeFile(t, key, "not a real key\n")
		t.Cleanup(func() { os.Remove(key) })
	}
	if e.mode.rootless {
		for _, p := range []string{dir, key} {
			if err := os.Chown(p, testUser.uid, testUser.gid); err != nil {
				t.Fatal(err)
			}
		}
	}
}
