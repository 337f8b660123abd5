package tests

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestRootfsDirectory runs from a busybox directory given with --rootfs.
func TestRootfsDirectory(t *testing.T) {
	requireE2E(t)
	if busybox == "" {
		t.Skip("no static busybox: " + busyboxWhy)
	}
	dir := busyboxRootfs(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Run("true_exits_0", func(t *testing.T) {
				e := newEnv(t, m)
				wantCode(t, e.run("run", "--rootfs", dir, "--", "/bin/true"), 0)
			})
			t.Run("root_is_read_only", func(t *testing.T) {
				e := newEnv(t, m)
				r := e.run("run", "--rootfs", dir, "--", "/bin/sh", "-c", "touch /x")
				if r.code == 0 {
					t.Fatalf("touch /x succeeded in the --rootfs container: %s", r)
				}
				wantContains(t, "stderr", r.stderr, "Read-only file system")
				if _, err := os.Lstat(filepath.Join(dir, "x")); err == nil {
					t.Errorf("%s/x was created on the host", dir)
				}
			})
		})
	}
}

// busyboxRootfs builds a minimal root filesystem that the test user can
// read: busybox, a few applet links and the mount points.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "safe-run-e2e-rootfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open(busybox)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "bin", "busybox"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "true", "id", "cat", "touch"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
