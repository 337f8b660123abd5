package tests

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// dockerCase is one `docker run` command line run through safe-run:
// want exit code, and text the output must hold (stdout and stderr
// together, since a refusal, the program's output and safe-run's
// warnings all count).
type dockerCase struct {
	name     string
	args     []string // after "run"; IMG is replaced by the test image
	code     int
	want     []string
	rootful  bool // only as root (ids, the OOM killer need cgroups)
	hostFile string
	hostWant string // content the host file must have afterwards
}

// TestDockerRun runs a corpus of realistic `docker run` command lines
// through `safe-run run` against an image in a private store: the docker
// flags work with docker's syntax, weakening ones are refused with exit
// 125 naming the flag, and exit codes are docker's.
func TestDockerRun(t *testing.T) {
	requireE2E(t)
	img := busyboxImage(t)
	const ref = "registry.example/test/busybox:1"
	dir, archive := imageArchive(t, img, ref, "safe-run-e2e-docker-")
	envFile := filepath.Join(dir, "app.env")
	writeFile(t, envFile, "# settings\nDB_HOST=db.internal\nMODE=from-file\n\nPASSED_FROM_CALLER\n")
	seccompFile := filepath.Join(dir, "seccomp.json")
	data, err := os.ReadFile("../internal/seccomp/testdata/docker-default.json")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, seccompFile, string(data))

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			vars := []string{"SAFE_RUN_DATA_DIR=" + dataDir(t, e), "PASSED_FROM_CALLER=caller-value"}
			wantCode(t, e.runWith(vars, "load", archive), 0)
			vol, err := os.MkdirTemp("/tmp", "safe-run-e2e-vol-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(vol) })
			os.Chmod(vol, 0o777) // the container's user writes here, rootless too
			writeFile(t, filepath.Join(vol, "in.txt"), "hello from the host\n")

			capEff := `while read k v; do [ "$k" = CapEff: ] && echo "CapEff=$v"; done < /proc/self/status; true`
			cases := []dockerCase{
				// what works
				{name: "plain", args: []string{"--rm", "-i", "IMG", "echo", "hi"}, want: []string{"hi\n"}},
				{name: "flags_after_image_are_the_command", args: []string{"IMG", "echo", "-v", "--rm"}, want: []string{"-v --rm\n"}},
				{name: "double_dash", args: []string{"-e", "A=1", "IMG", "--", "sh", "-c", "echo A=$A"}, want: []string{"A=1\n"}},
				{name: "env_file_and_e", args: []string{"--env-file", envFile, "-e", "MODE=from-flag", "IMG", "sh", "-c", "echo $DB_HOST $MODE $PASSED_FROM_CALLER"},
					want: []string{"db.internal from-flag caller-value\n"}},
				{name: "combined_short_it_needs_a_terminal", args: []string{"-it", "IMG", "true"}, code: 125, want: []string{"--tty: the input device is not a terminal"}},
				{name: "volume_ro", args: []string{"-v", vol + ":/home:ro", "IMG", "sh", "-c", "cat /home/in.txt && echo x > /home/out.txt"}, code: 1,
					want: []string{"hello from the host\n", "Read-only file system"}},
				{name: "volume_default_is_read_only", args: []string{"-v", vol + ":/home", "IMG", "sh", "-c", "echo x > /home/out.txt"}, code: 1,
					want: []string{"Read-only file system"}},
				{name: "volume_rw", args: []string{"-v", vol + ":/home:rw", "IMG", "sh", "-c", "echo written > /home/out.txt"},
					hostFile: filepath.Join(vol, "out.txt"), hostWant: "written\n"},
				{name: "mount_bind_writable", args: []string{"--mount", "type=bind,source=" + vol + ",target=/home,readonly=false", "IMG", "sh", "-c", "echo via-mount > /home/mount.txt"},
					hostFile: filepath.Join(vol, "mount.txt"), hostWant: "via-mount\n"},
				{name: "workdir", args: []string{"--workdir", "/usr", "IMG", "pwd"}, want: []string{"/usr\n"}},
				{name: "w_and_user", args: []string{"-w", "/root", "-u", "1000:1000", "IMG", "sh", "-c", "pwd; id -u; id -g"}, want: []string{"/root\n1000\n1000\n"}, rootful: true},
				{name: "entrypoint", args: []string{"--entrypoint", "/bin/echo", "IMG", "from", "entrypoint"}, want: []string{"from entrypoint\n"}},
				{name: "tmpfs_size", args: []string{"--tmpfs", "/root:size=2m,mode=1777", "IMG", "cat", "/proc/mounts"}, want: []string{"/root tmpfs", "size=2048k", "nosuid,nodev,noexec"}},
				{name: "mount_tmpfs", args: []string{"--mount", "type=tmpfs,destination=/home,tmpfs-size=1m", "IMG", "cat", "/proc/mounts"}, want: []string{"/home tmpfs", "size=1024k"}},
				{name: "read_only_rm_init_name_hostname", args: []string{"--read-only", "--rm", "--init", "--hostname", "web1", "--name", "safe-run-docker-e2e", "IMG", "cat", "/proc/sys/kernel/hostname"},
					want: []string{"web1\n"}},
				{name: "cap_add_net_bind_service", args: []string{"-u", "0", "--cap-add", "NET_BIND_SERVICE", "IMG", "sh", "-c", capEff},
					want: []string{"CapEff=0000000000000400\n", "the container holds CAP_NET_BIND_SERVICE"}},
				{name: "cap_drop_all", args: []string{"-u", "0", "--cap-drop", "ALL", "IMG", "sh", "-c", capEff}, want: []string{"CapEff=0000000000000000\n"}},
				{name: "ulimit", args: []string{"--ulimit", "nofile=256:512", "IMG", "sh", "-c", "ulimit -n; ulimit -Hn"}, want: []string{"256\n512\n"}},
				{name: "security_opt_accepted", args: []string{"--security-opt", "no-new-privileges", "--security-opt", "no-new-privileges=true", "--network", "none", "--platform", "linux/" + goruntime.GOARCH, "IMG", "true"}},
				{name: "seccomp_file", args: []string{"--security-opt", "seccomp=" + seccompFile, "IMG", "echo", "filtered"},
					want: []string{"filtered\n", "the syscall allowlist is the", "replacing profile \"default\"'s"}},
				{name: "ignored_with_warning", args: []string{"--label", "app=web", "--cpu-shares", "512", "IMG", "true"},
					want: []string{"--label app=web is ignored", "--cpu-shares 512 is ignored"}},
				{name: "memory_swap_equal", args: []string{"-m", "64m", "--memory-swap", "64m", "--stop-timeout", "2", "IMG", "true"}},

				// refused: exit 125, naming the flag and the alternative
				{name: "privileged", args: []string{"--privileged", "IMG", "true"}, code: 125, want: []string{"--privileged: refused", "--cap-add"}},
				{name: "cap_add_sys_admin", args: []string{"--cap-add", "SYS_ADMIN", "IMG", "true"}, code: 125, want: []string{"--cap-add SYS_ADMIN: refused", "capabilities.add"}},
				{name: "cap_add_all", args: []string{"--cap-add", "ALL", "IMG", "true"}, code: 125, want: []string{"--cap-add ALL: refused"}},
				{name: "network_host", args: []string{"--network", "host", "IMG", "true"}, code: 125, want: []string{"--network host: refused", "unsafe.disable-network-isolation"}},
				{name: "net_bridge", args: []string{"--net", "bridge", "IMG", "true"}, code: 125, want: []string{"--network bridge: not supported yet"}},
				{name: "seccomp_unconfined", args: []string{"--security-opt", "seccomp=unconfined", "IMG", "true"}, code: 125, want: []string{"--security-opt seccomp=unconfined: refused", "--explain"}},
				{name: "nnp_false", args: []string{"--security-opt", "no-new-privileges=false", "IMG", "true"}, code: 125, want: []string{"no-new-privileges=false: refused"}},
				{name: "read_only_false", args: []string{"--read-only=false", "IMG", "true"}, code: 125, want: []string{"--read-only=false: refused", "--tmpfs"}},
				{name: "pid_host", args: []string{"--pid", "host", "IMG", "true"}, code: 125, want: []string{"--pid host: refused"}},
				{name: "publish", args: []string{"-p", "8080:80", "IMG", "true"}, code: 125, want: []string{"-p/--publish 8080:80: not supported yet"}},
				{name: "device", args: []string{"--device", "/dev/sda", "IMG", "true"}, code: 125, want: []string{"--device /dev/sda: refused"}},
				{name: "named_volume", args: []string{"-v", "pgdata:/var/lib/postgresql", "IMG", "true"}, code: 125,
					want: []string{"named volumes are not supported yet", "-v /abs/path:/var/lib/postgresql"}},
				{name: "mount_volume", args: []string{"--mount", "type=volume,src=cache,dst=/cache", "IMG", "true"}, code: 125, want: []string{"--mount", "named volumes are not supported yet"}},
				{name: "engine_socket", args: []string{"-v", "/var/run/docker.sock:/var/run/docker.sock", "IMG", "true"}, code: 125, want: []string{"/var/run/docker.sock is refused"}},
				{name: "memory_swap_unlimited", args: []string{"-m", "64m", "--memory-swap", "-1", "IMG", "true"}, code: 125, want: []string{"--memory-swap -1: refused"}},

				// malformed values and unknown flags
				{name: "unknown_flag", args: []string{"--volumes", "/a:/b", "IMG", "true"}, code: 125, want: []string{"flag provided but not defined: -volumes", `Did you mean "--volume"?`}},
				{name: "bad_volume", args: []string{"-v", "/only-one-part", "IMG", "true"}, code: 125, want: []string{`-v "/only-one-part"`}},
				{name: "relative_volume", args: []string{"-v", "./data:/data", "IMG", "true"}, code: 125, want: []string{`-v "./data:/data"`, "absolute"}},
				{name: "bad_mount", args: []string{"--mount", "type=bind,src=/tmp", "IMG", "true"}, code: 125, want: []string{`--mount "type=bind,src=/tmp": missing target path`}},
				{name: "bad_ulimit", args: []string{"--ulimit", "nofile=many", "IMG", "true"}, code: 125, want: []string{`--ulimit "nofile=many"`}},
				{name: "bad_memory", args: []string{"--memory", "12x", "IMG", "true"}, code: 125, want: []string{"--memory"}},

				// exit codes, as docker's
				{name: "exit_0", args: []string{"IMG", "true"}},
				{name: "exit_1", args: []string{"IMG", "false"}, code: 1},
				{name: "exit_126", args: []string{"IMG", "/etc/passwd"}, code: 126},
				{name: "exit_127", args: []string{"IMG", "no-such-program"}, code: 127},
				{name: "exit_143", args: []string{"IMG", "sh", "-c", "kill -TERM $$"}, code: 143},
				{name: "exit_137_oom", args: []string{"-m", "32m", "IMG", "sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done"}, code: 137, want: []string{"OOM killer"}, rootful: true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.rootful && m.rootless {
						t.Skip("rootful only")
					}
					args := []string{"run"}
					for _, a := range tc.args {
						if a == "IMG" {
							a = ref
						}
						args = append(args, a)
					}
					r := e.runWith(vars, args...)
					wantCode(t, r, tc.code)
					for _, w := range tc.want {
						wantContains(t, "output", r.stdout+r.stderr, w)
					}
					if tc.hostFile != "" {
						got, err := os.ReadFile(tc.hostFile)
						if err != nil || string(got) != tc.hostWant {
							t.Errorf("host file %s = %q, %v; want %q", tc.hostFile, got, err, tc.hostWant)
						}
					}
				})
			}
		})
	}
}

// TestDockerRunHostRootfs: the docker flags work the same without an
// image ("--" COMMAND on the profile's root filesystem).
func TestDockerRunHostRootfs(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			r := e.run("run", "--tmpfs", "/scratch:size=4m,exec", "--ulimit", "nofile=100", "--", "sh", "-c",
				`grep " /scratch " /proc/mounts; ulimit -n`)
			wantCode(t, r, 0)
			for _, want := range []string{"size=4096k", "nosuid,nodev,relatime", "100\n"} {
				wantContains(t, "stdout", r.stdout, want)
			}
			if strings.Contains(r.stdout, "noexec") {
				t.Errorf("--tmpfs ...,exec is mounted noexec: %s", r)
			}
			r = e.run("run", "--cap-add", "sys_module", "--", "true")
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, "--cap-add sys_module: refused")
		})
	}
}
