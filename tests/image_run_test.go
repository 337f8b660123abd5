package tests

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestRunImage: `safe-run run IMAGE [CMD]` runs an image from the store
// the way docker run does (its command, env, workdir and user), read-only,
// with the same controls verified inside, and refuses what it cannot run.
func TestRunImage(t *testing.T) {
	requireE2E(t)
	base := busyboxImage(t)
	cfgFile, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgFile.Config
	cfg.Cmd = []string{"sh", "-c", "echo default-cmd; pwd; echo $GREETING; id -u"}
	cfg.Env = append(cfg.Env, "GREETING=hello-from-image")
	cfg.WorkingDir = "/tmp"
	cfg.User = "1234:1234"
	img, err := mutate.Config(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, archive := imageArchive(t, img, "registry.example/test/app:1", "safe-run-e2e-runimage-")

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			vars := []string{"SAFE_RUN_DATA_DIR=" + dataDir(t, e)}
			wantCode(t, e.runWith(vars, "load", archive), 0)

			r := e.runWith(vars, "run", "registry.example/test/app:1")
			wantCode(t, r, 0)
			for _, want := range []string{"default-cmd\n", "/tmp\n", "hello-from-image\n"} {
				wantContains(t, "stdout", r.stdout, want)
			}
			if !m.rootless { // rootless maps only the ids it has
				wantContains(t, "stdout", r.stdout, "1234\n")
			}

			r = e.runWith(vars, "run", "-e", "GREETING=from-flag", "-w", "/", "registry.example/test/app:1",
				"sh", "-c", "echo $GREETING; pwd; touch /x 2>&1; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status")
			wantCode(t, r, 0)
			for _, want := range []string{"from-flag\n", "/\n", "Read-only file system", "NoNewPrivs:\t1", "Seccomp:\t2"} {
				wantContains(t, "output", r.stdout, want)
			}

			wantCode(t, e.runWith(vars, "run", "registry.example/test/app:1", "sh", "-c", "exit 7"), 7)
			r = e.runWith(vars, "run", "registry.example/test/app:1", "no-such-command")
			wantCode(t, r, 127)
			r = e.runWith(vars, "run", "--pull", "never", "registry.example/test/missing:1")
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, "--pull never forbids pulling it")
			r = e.runWith(vars, "run", "bare/name:1")
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, "no bare pulls")
			// "--" still means a host command, not an image.
			r = e.runWith(vars, "run", "--", "sh", "-c", "test -e /bin/busybox || echo host-view")
			wantCode(t, r, 0)
		})
	}
}
