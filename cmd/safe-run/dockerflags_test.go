package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/profiles"
)

// fakeFlags stands for *cli.Context: string, []string or bool per flag
// (canonical names).
type fakeFlags map[string]any

func (f fakeFlags) IsSet(n string) bool { _, ok := f[n]; return ok }
func (f fakeFlags) String(n string) string {
	s, _ := f[n].(string)
	return s
}
func (f fakeFlags) StringSlice(n string) []string {
	s, _ := f[n].([]string)
	return s
}
func (f fakeFlags) Bool(n string) bool {
	b, _ := f[n].(bool)
	return b
}

var _ flagValues = (*cli.Context)(nil)

func finder() *profile.Finder { return &profile.Finder{Embedded: profiles.FS} }

// baseOf loads a shipped profile, or a profile written as YAML (extending
// default) when ref holds a newline.
func baseOf(t *testing.T, ref string) *profile.Resolved {
	t.Helper()
	if strings.Contains(ref, "\n") {
		p := filepath.Join(t.TempDir(), "p.yaml")
		if err := os.WriteFile(p, []byte(ref), 0o644); err != nil {
			t.Fatal(err)
		}
		ref = p
	}
	r, err := finder().Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func noFiles(name string) ([]byte, error) {
	return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
}

func noEnv(string) (string, bool) { return "", false }

// apply runs the translation over the default profile.
func apply(t *testing.T, f fakeFlags) (*profile.File, *dockerMessages, error) {
	t.Helper()
	return applyWith(t, f, dockerEnv{base: baseOf(t, "default"), readFile: noFiles, lookup: noEnv})
}

func applyWith(t *testing.T, f fakeFlags, env dockerEnv) (*profile.File, *dockerMessages, error) {
	t.Helper()
	o := profile.Overlay()
	m, err := applyDockerFlags(o, f, env)
	if err != nil {
		var exit *runtime.ExitError
		if !errors.As(err, &exit) || exit.Code != 125 {
			t.Errorf("error %v is not a tool error (exit 125)", err)
		}
	}
	return o, m, err
}

// resolve validates the overlay with profile ref, as run does.
func resolve(t *testing.T, ref string, o *profile.File) (*profile.Resolved, error) {
	t.Helper()
	return finder().Load(ref, o)
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestDockerVolumes(t *testing.T) {
	o, m, err := apply(t, fakeFlags{"volume": []string{"/srv/data:/data", "/srv/out:/out:rw", "/srv/z:/z:Z,ro", "/srv/s:/s/:z"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []profile.Bind{
		{Source: "/srv/data", Target: "/data"},
		{Source: "/srv/out", Target: "/out", Writable: true},
		{Source: "/srv/z", Target: "/z", Relabel: "private"},
		{Source: "/srv/s", Target: "/s", Relabel: "shared"},
	}
	if !reflect.DeepEqual(o.Binds, want) {
		t.Errorf("binds = %+v\nwant %+v", o.Binds, want)
	}
	if len(m.notices) != 2 || !strings.Contains(m.notices[0], "add :rw") {
		t.Errorf("notices = %q, want one per bind that defaulted to read-only", m.notices)
	}
	r, err := resolve(t, "default", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Binds) != 4 {
		t.Errorf("resolved binds = %+v", r.Binds)
	}

	for _, tt := range []struct {
		v     string
		parts []string
	}{
		{"data:/data", []string{"-v", "named volumes are not supported yet", "-v /abs/path:/data"}},
		{"./rel:/x", []string{"-v", "must be absolute"}},
		{"/a", []string{"-v", "SOURCE:TARGET"}},
		{"/a:rel", []string{"-v", "absolute"}},
		{"/a:/b:rx", []string{"-v", `unknown option "rx"`}},
		{"/a:/proc/x", []string{"-v", "/proc/x is refused", "mount somewhere else"}},
		{"/a:/dev", []string{"-v", "/dev is refused"}},
	} {
		_, _, err := apply(t, fakeFlags{"volume": []string{tt.v}})
		wantErr(t, err, tt.parts...)
	}
}

func TestDockerMount(t *testing.T) {
	o, _, err := apply(t, fakeFlags{"mount": []string{
		"type=bind,source=/srv/a,target=/a",
		"type=bind,src=/srv/b,dst=/b,readonly=false",
		"type=bind,src=/srv/c,dst=/c,readonly",
		"type=tmpfs,dst=/cache,tmpfs-size=16m,tmpfs-mode=700",
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantBinds := []profile.Bind{{Source: "/srv/a", Target: "/a"}, {Source: "/srv/b", Target: "/b", Writable: true}, {Source: "/srv/c", Target: "/c"}}
	if !reflect.DeepEqual(o.Binds, wantBinds) {
		t.Errorf("binds = %+v", o.Binds)
	}
	if len(o.Tmpfs) != 1 || o.Tmpfs[0].Path != "/cache" || o.Tmpfs[0].Size != 16<<20 || o.Tmpfs[0].Mode == nil || *o.Tmpfs[0].Mode != 0o700 || o.Tmpfs[0].Exec {
		t.Errorf("tmpfs = %+v", o.Tmpfs)
	}
	_, _, err = apply(t, fakeFlags{"mount": []string{"type=volume,src=cache,dst=/cache"}})
	wantErr(t, err, "--mount", "named volumes are not supported yet", "-v /abs/path:/cache")
	_, _, err = apply(t, fakeFlags{"mount": []string{"type=bind,src=/a"}})
	wantErr(t, err, "--mount", "missing target")
	_, _, err = apply(t, fakeFlags{"mount": []string{"type=nfs,dst=/a"}})
	wantErr(t, err, "--mount", "not supported")
}

func TestDockerTmpfs(t *testing.T) {
	o, _, err := apply(t, fakeFlags{"tmpfs": []string{"/run", "/work:size=8m,exec,mode=1770", "/tmp:size=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := resolve(t, "default", o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]profile.Tmpfs{}
	for _, tm := range r.Tmpfs {
		got[tm.Path] = tm
	}
	if tm := got["/run"]; tm.Size != 64<<20 || *tm.Mode != 0o1777 || tm.Exec {
		t.Errorf("/run = %+v, want the 64m default, noexec", tm)
	}
	if tm := got["/work"]; tm.Size != 8<<20 || *tm.Mode != 0o1770 || !tm.Exec {
		t.Errorf("/work = %+v", tm)
	}
	if tm := got["/tmp"]; tm.Size != 1<<20 || len(r.Tmpfs) != 3 {
		t.Errorf("the flag's /tmp must replace the profile's: %+v", r.Tmpfs)
	}
	_, _, err = apply(t, fakeFlags{"tmpfs": []string{"/x:suid"}})
	wantErr(t, err, "--tmpfs", "nosuid,nodev")
	_, _, err = apply(t, fakeFlags{"tmpfs": []string{"/dev/shm:size=1g"}})
	wantErr(t, err, "--tmpfs", "/dev/shm", "--shm-size is not supported yet")
}

func TestDockerEnvFile(t *testing.T) {
	files := map[string]string{
		"a.env": "A=from-a\nB=from-a\n# comment\n\nPASSED\nUNSET\n",
		"b.env": "B=from-b\nC=x=y\n",
	}
	env := dockerEnv{base: baseOf(t, "default"),
		readFile: func(n string) ([]byte, error) {
			if s, ok := files[n]; ok {
				return []byte(s), nil
			}
			return noFiles(n)
		},
		lookup: func(n string) (string, bool) { return "caller", n == "PASSED" },
	}
	o := profile.Overlay()
	o.Env = &profile.Env{Set: map[string]string{"A": "from-e"}} // -e, set first by overridesFromFlags
	if _, err := applyDockerFlags(o, fakeFlags{"env-file": []string{"a.env", "b.env"}}, env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "from-e", "B": "from-b", "C": "x=y", "PASSED": "caller"}
	if !reflect.DeepEqual(o.Env.Set, want) {
		t.Errorf("env = %v, want %v", o.Env.Set, want)
	}
	_, _, err := applyWith(t, fakeFlags{"env-file": []string{"missing.env"}}, env)
	wantErr(t, err, "--env-file", "missing.env")
	files["bad.env"] = "GOOD=1\nBAD NAME=2\n"
	_, _, err = applyWith(t, fakeFlags{"env-file": []string{"bad.env"}}, env)
	wantErr(t, err, "--env-file bad.env:2")
}

func TestDockerCapabilities(t *testing.T) {
	o, m, err := apply(t, fakeFlags{"cap-add": []string{"net_bind_service", "CAP_CHOWN"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"}; o.Capabilities == nil || !reflect.DeepEqual(o.Capabilities.Add, want) {
		t.Errorf("capabilities = %+v, want add %v", o.Capabilities, want)
	}
	if len(m.warnings) != 2 || m.warnings[0] != "--cap-add net_bind_service: the container holds CAP_NET_BIND_SERVICE" {
		t.Errorf("warnings = %q", m.warnings)
	}
	r, err := resolve(t, "default", o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}; !reflect.DeepEqual(r.Capabilities, want) {
		t.Errorf("resolved = %v", r.Capabilities)
	}

	for c := range rootEquivalent {
		_, _, err := apply(t, fakeFlags{"cap-add": []string{strings.TrimPrefix(c, "CAP_")}})
		wantErr(t, err, "--cap-add "+strings.TrimPrefix(c, "CAP_"), "refused", c, "capabilities.add")
	}
	_, _, err = apply(t, fakeFlags{"cap-add": []string{"ALL"}})
	wantErr(t, err, "--cap-add ALL", "never grants every capability", "--cap-add NET_BIND_SERVICE")
	_, _, err = apply(t, fakeFlags{"cap-add": []string{"NET_BIND_SERVIC"}})
	wantErr(t, err, "--cap-add", `did you mean "CAP_NET_BIND_SERVICE"`)

	// A profile that grants SYS_ADMIN itself lets the flag name it.
	withAdmin := baseOf(t, "capabilities:\n  add: [SYS_ADMIN, NET_RAW]\n")
	env := dockerEnv{base: withAdmin, readFile: noFiles, lookup: noEnv}
	if _, _, err := applyWith(t, fakeFlags{"cap-add": []string{"SYS_ADMIN"}}, env); err != nil {
		t.Errorf("--cap-add SYS_ADMIN with a profile that adds it: %v", err)
	}
	// --cap-drop ALL takes the profile's away; a later --cap-add wins.
	o, _, err = applyWith(t, fakeFlags{"cap-drop": []string{"ALL"}, "cap-add": []string{"CHOWN"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Capabilities.Remove, []string{"CAP_NET_RAW", "CAP_SYS_ADMIN"}) {
		t.Errorf("remove = %v", o.Capabilities.Remove)
	}
	o, _, err = applyWith(t, fakeFlags{"cap-drop": []string{"net_raw"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Capabilities.Remove, []string{"CAP_NET_RAW"}) {
		t.Errorf("remove = %v", o.Capabilities.Remove)
	}
	if _, _, err := apply(t, fakeFlags{"cap-drop": []string{"ALL"}}); err != nil {
		t.Errorf("--cap-drop ALL on default: %v", err)
	}
}

func TestDockerSecurityOpt(t *testing.T) {
	o, _, err := apply(t, fakeFlags{"security-opt": []string{"no-new-privileges", "label=type:spc_t", "label=level:s0:c1,c2"}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Unsafe == nil || o.Unsafe.DisableNoNewPrivileges == nil || *o.Unsafe.DisableNoNewPrivileges {
		t.Errorf("no-new-privileges must turn unsafe.disable-no-new-privileges off: %+v", o.Unsafe)
	}
	if *o.SELinux.Type != "spc_t" || *o.SELinux.Level != "s0:c1,c2" {
		t.Errorf("selinux = %+v", o.SELinux)
	}

	for _, tt := range []struct{ opt, want string }{
		{"no-new-privileges=false", "unsafe.disable-no-new-privileges"},
		{"seccomp=unconfined", "--explain"},
		{"label=disable", "label=type:TYPE"},
		{"apparmor=unconfined", "AppArmor"},
		{"seccomp", "seccomp=FILE"},
	} {
		_, _, err := apply(t, fakeFlags{"security-opt": []string{tt.opt}})
		wantErr(t, err, "--security-opt", tt.want)
	}
	// A profile that already turns a control off accepts the flag.
	unsafe := baseOf(t, "unsafe:\n  disable-seccomp: true\n  disable-no-new-privileges: true\n  disable-selinux: true\n")
	env := dockerEnv{base: unsafe, readFile: noFiles, lookup: noEnv}
	if _, _, err := applyWith(t, fakeFlags{"security-opt": []string{"seccomp=unconfined", "no-new-privileges=false", "label=disable"}}, env); err != nil {
		t.Errorf("with a profile that allows them: %v", err)
	}
	_, _, err = applyWith(t, fakeFlags{"security-opt": []string{"seccomp=/x.json"}}, env)
	wantErr(t, err, "no syscall filter")
}

// seccomp=FILE replaces the profile's allowlist, as in docker.
func TestDockerSeccompFile(t *testing.T) {
	data, err := os.ReadFile("../../internal/seccomp/testdata/docker-default.json")
	if err != nil {
		t.Fatal(err)
	}
	small := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write", "exit_group", "execve", "brk", "mmap", "ptrace"], "action": "SCMP_ACT_ALLOW"}]}`
	files := map[string][]byte{"docker.json": data, "small.json": []byte(small), "bad.json": []byte(`{"defaultAction": "SCMP_ACT_ALLOW"}`)}
	env := dockerEnv{base: baseOf(t, "default"), lookup: noEnv, readFile: func(n string) ([]byte, error) {
		if d, ok := files[n]; ok {
			return d, nil
		}
		return noFiles(n)
	}}
	o, m, err := applyWith(t, fakeFlags{"security-opt": []string{"seccomp=small.json"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.warnings) != 1 || !strings.Contains(m.warnings[0], "the syscall allowlist is the 7 syscalls small.json allows") {
		t.Errorf("warnings = %q", m.warnings)
	}
	r, err := resolve(t, "default", o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"brk", "execve", "exit_group", "mmap", "ptrace", "read", "write"}
	if !reflect.DeepEqual(r.Seccomp.Allow, want) {
		t.Errorf("allow = %v, want exactly the file's %v", r.Seccomp.Allow, want)
	}
	if !reflect.DeepEqual(r.Seccomp.SocketFamilies, []string{"inet", "inet6", "netlink", "unix"}) {
		t.Errorf("socket families must stay the profile's: %v", r.Seccomp.SocketFamilies)
	}

	o, _, err = applyWith(t, fakeFlags{"security-opt": []string{"seccomp=docker.json"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	r, err = resolve(t, "default", o)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := seccomp.ImportDocker(data, seccomp.NativeArch(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Seccomp.Allow, imp.Allow) {
		t.Errorf("allow differs from docker.json's: %d vs %d names", len(r.Seccomp.Allow), len(imp.Allow))
	}
	// The file is read for the capabilities the container holds.
	o, _, err = applyWith(t, fakeFlags{"security-opt": []string{"seccomp=docker.json"}, "cap-add": []string{"SYS_CHROOT"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(o.Seccomp.Allow, "chroot") {
		t.Errorf("docker.json allows chroot with CAP_SYS_CHROOT")
	}

	_, _, err = applyWith(t, fakeFlags{"security-opt": []string{"seccomp=bad.json"}}, env)
	wantErr(t, err, "--security-opt seccomp=bad.json", "allowlists only")
	_, _, err = applyWith(t, fakeFlags{"security-opt": []string{"seccomp=missing.json"}}, env)
	wantErr(t, err, "--security-opt seccomp=missing.json", "not exist")
}

func TestDockerReadOnly(t *testing.T) {
	if _, _, err := apply(t, fakeFlags{"read-only": true}); err != nil {
		t.Error(err)
	}
	_, _, err := apply(t, fakeFlags{"read-only": false})
	wantErr(t, err, "--read-only=false", "write to a --tmpfs or a -v volume")
	env := dockerEnv{base: baseOf(t, "unsafe:\n  disable-readonly-root: true\n"), readFile: noFiles, lookup: noEnv}
	if _, _, err := applyWith(t, fakeFlags{"read-only": false}, env); err != nil {
		t.Errorf("--read-only=false with unsafe.disable-readonly-root: %v", err)
	}
	// --read-only turns a writable-root profile read-only.
	o, _, err := applyWith(t, fakeFlags{"read-only": true}, env)
	if err != nil {
		t.Fatal(err)
	}
	if o.Unsafe == nil || *o.Unsafe.DisableReadonlyRoot {
		t.Errorf("--read-only must turn unsafe.disable-readonly-root off: %+v", o.Unsafe)
	}
}

func TestDockerNetwork(t *testing.T) {
	o, _, err := apply(t, fakeFlags{"network": "none"})
	if err != nil || *o.Network != "none" {
		t.Errorf("--network none: %v", err)
	}
	_, _, err = apply(t, fakeFlags{"network": "host"})
	wantErr(t, err, "--network host", "unsafe.disable-network-isolation")
	_, _, err = apply(t, fakeFlags{"network": "bridge"})
	wantErr(t, err, "--network bridge", "not supported yet", "--network private")
	o, _, err = apply(t, fakeFlags{"network": "private"})
	if err != nil || *o.Network != "private" {
		t.Errorf("--network private: %v", err)
	}
	_, _, err = apply(t, fakeFlags{"network": "container:abc"})
	wantErr(t, err, "--network container:abc", "refused")
	hostOK := baseOf(t, "network: host\nunsafe:\n  disable-network-isolation: true\n")
	env := dockerEnv{base: hostOK, readFile: noFiles, lookup: noEnv}
	o, _, err = applyWith(t, fakeFlags{"network": "host"}, env)
	if err != nil || *o.Network != "host" {
		t.Errorf("--network host with a host profile: %v", err)
	}
	// --network none isolates even a host-network profile.
	o, _, err = applyWith(t, fakeFlags{"network": "none"}, env)
	if err != nil {
		t.Fatal(err)
	}
	r, err := resolve(t, "default", withUnsafeNetwork(o))
	if err != nil || r.Network != "none" {
		t.Errorf("network = %v, %v", r, err)
	}
	// --network private too: its own namespace, not the host's.
	o, _, err = applyWith(t, fakeFlags{"network": "private"}, env)
	if err != nil {
		t.Fatal(err)
	}
	r, err = resolve(t, "default", withUnsafeNetwork(o))
	if err != nil || r.Network != "private" {
		t.Errorf("network = %v, %v", r, err)
	}
}

func TestDockerPrivateNetworkFlags(t *testing.T) {
	// Without a private network: refused, naming the flag and the fix.
	for _, tt := range []struct {
		f     fakeFlags
		parts []string
	}{
		{fakeFlags{"publish": []string{"8080:80"}}, []string{"-p/--publish 8080:80", `network is "none"`, "add --network private"}},
		{fakeFlags{"dns": []string{"192.0.2.53"}}, []string{"--dns 192.0.2.53", "add --network private"}},
		{fakeFlags{"dns-search": []string{"example.org"}}, []string{"--dns-search example.org", "add --network private"}},
		{fakeFlags{"add-host": []string{"host.docker.internal:host-gateway"}}, []string{"--add-host host.docker.internal:host-gateway", "not supported yet", "-p"}},
		{fakeFlags{"network": "private", "add-host": []string{"h:host-gateway"}}, []string{"--add-host h:host-gateway", "not supported yet"}},
		// malformed values are reported as such, whatever the network
		{fakeFlags{"publish": []string{"80:80:80:80"}}, []string{"-p/--publish", "-p \"80:80:80:80\""}},
		{fakeFlags{"network": "private", "publish": []string{"80"}}, []string{"-p 80", "give the host port"}},
		{fakeFlags{"network": "private", "publish": []string{"127.0.0.1:80:80/sctp"}}, []string{"SCTP"}},
		{fakeFlags{"network": "private", "publish": []string{"8080:80", "8080:81"}}, []string{"published twice"}},
		{fakeFlags{"network": "private", "dns": []string{"resolver"}}, []string{"--dns", "not an IP address"}},
		{fakeFlags{"network": "private", "dns-search": []string{"a b"}}, []string{"--dns-search", "one word"}},
		{fakeFlags{"network": "private", "dns-option": []string{"ndots:2\nnameserver 1.2.3.4"}}, []string{"--dns-option", "one word"}},
		{fakeFlags{"add-host": []string{"db"}}, []string{"--add-host", "NAME:IP"}},
		{fakeFlags{"add-host": []string{"a b:10.0.0.2"}}, []string{"--add-host", "one word"}},
	} {
		_, _, err := apply(t, tt.f)
		wantErr(t, err, tt.parts...)
	}
	// With one: accepted.
	for _, ok := range []fakeFlags{
		{"network": "private", "publish": []string{"127.0.0.1:8080:80", "8081:81/udp", "[::1]:8082:82"}, "dns": []string{"192.0.2.53"},
			"dns-search": []string{"example.org"}, "dns-option": []string{"ndots:2"}, "add-host": []string{"db:10.0.0.2"}},
		{"add-host": []string{"db:10.0.0.2"}}, // extra hosts need no network
	} {
		if _, _, err := apply(t, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	privateProfile := baseOf(t, "network: private\n")
	if _, _, err := applyWith(t, fakeFlags{"publish": []string{"8080:80"}}, dockerEnv{base: privateProfile, readFile: noFiles, lookup: noEnv}); err != nil {
		t.Errorf("-p with a network: private profile: %v", err)
	}

	m := &dockerMessages{}
	n, err := dockerNetworkRequest(fakeFlags{"publish": []string{"8080:80", "0.0.0.0:9000-9001:90-91/udp", "[::1]:8082:82"},
		"add-host": []string{"db=10.0.0.2"}}, m)
	if err != nil {
		t.Fatal(err)
	}
	wantPorts := []plan.Port{
		{HostIP: "127.0.0.1", HostPort: 8080, HostEnd: 8080, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		{HostIP: "0.0.0.0", HostPort: 9000, HostEnd: 9001, ContainerPort: 90, ContainerEnd: 91, Proto: "udp"},
		{HostIP: "::1", HostPort: 8082, HostEnd: 8082, ContainerPort: 82, ContainerEnd: 82, Proto: "tcp"},
	}
	if !reflect.DeepEqual(n.Publish, wantPorts) {
		t.Errorf("ports = %+v", n.Publish)
	}
	wantHosts := []plan.HostEntry{{Name: "db", IP: "10.0.0.2"}}
	if !reflect.DeepEqual(n.Hosts, wantHosts) {
		t.Errorf("hosts = %+v", n.Hosts)
	}
	if len(m.notices) != 1 || !strings.Contains(m.notices[0], "-p 8080:80: published on 127.0.0.1 only") {
		t.Errorf("notices = %q", m.notices)
	}
}

// withUnsafeNetwork puts a host-network profile under o, as a chain would.
func withUnsafeNetwork(o *profile.File) *profile.File {
	on, host := true, "host"
	base := profile.Overlay()
	base.Network, base.Unsafe = &host, &profile.Unsafe{DisableNetworkIsolation: &on}
	return profile.Merge(base, o)
}

func TestDockerLimits(t *testing.T) {
	o, _, err := apply(t, fakeFlags{"ulimit": []string{"nofile=512:1024", "core=0", "nproc=-1"}, "memory": "64m", "memory-swap": "64m"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]profile.Rlimit{"nofile": {Soft: 512, Hard: 1024}, "core": {}, "nproc": {Soft: ^uint64(0), Hard: ^uint64(0)}}
	if !reflect.DeepEqual(o.Rlimits, want) {
		t.Errorf("rlimits = %+v", o.Rlimits)
	}
	for _, tt := range []struct {
		f     fakeFlags
		parts []string
	}{
		{fakeFlags{"ulimit": []string{"nofile"}}, []string{"--ulimit", "NAME=SOFT"}},
		{fakeFlags{"ulimit": []string{"files=1"}}, []string{"--ulimit", "unknown limit"}},
		{fakeFlags{"memory": "64m", "memory-swap": "128m"}, []string{"--memory-swap 128m", "can only equal"}},
		{fakeFlags{"memory": "64m", "memory-swap": "-1"}, []string{"--memory-swap -1", "refused"}},
		{fakeFlags{"memory-swap": "64m"}, []string{"--memory-swap", "give --memory"}},
		{fakeFlags{"memory": "64m", "memory-swap": "lots"}, []string{"--memory-swap", "unknown unit"}},
		{fakeFlags{"stop-timeout": "soon"}, []string{"--stop-timeout", "seconds"}},
		{fakeFlags{"stop-timeout": "-1"}, []string{"--stop-timeout", "refused"}},
		{fakeFlags{"platform": "linux/s390x"}, []string{"--platform", "does not emulate"}},
	} {
		_, _, err := apply(t, tt.f)
		wantErr(t, err, tt.parts...)
	}
	for _, ok := range []fakeFlags{{"memory-swap": "0"}, {"platform": nativePlatform}, {"stop-timeout": "0"}, {"rm": true, "init": true}} {
		if _, _, err := apply(t, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	if d, _ := parseStopTimeout("3"); d != 3*time.Second {
		t.Errorf("--stop-timeout 3 = %v", d)
	}
}

func TestDockerCompatFlags(t *testing.T) {
	refused := []struct {
		f     fakeFlags
		parts []string
	}{
		{fakeFlags{"privileged": true}, []string{"--privileged: refused", "--cap-add"}},
		{fakeFlags{"pid": "host"}, []string{"--pid host: refused", "pid namespace"}},
		{fakeFlags{"ipc": "host"}, []string{"--ipc host: refused"}},
		{fakeFlags{"uts": "host"}, []string{"--uts host: refused", "--hostname"}},
		{fakeFlags{"userns": "host"}, []string{"--userns host: refused"}},
		{fakeFlags{"device": []string{"/dev/sda"}}, []string{"--device /dev/sda: refused", "devices are denied"}},
		{fakeFlags{"sysctl": []string{"net.ipv4.ip_forward=1"}}, []string{"--sysctl", "refused"}},
		{fakeFlags{"publish-all": true}, []string{"-P/--publish-all: not supported yet", "-p"}},
		{fakeFlags{"ip": "10.0.0.5"}, []string{"--ip 10.0.0.5: not supported yet", "--network private"}},
		{fakeFlags{"group-add": []string{"100"}}, []string{"--group-add 100: not supported yet"}},
		{fakeFlags{"shm-size": "1g"}, []string{"--shm-size 1g: not supported yet"}},
		{fakeFlags{"shm-size": "huge"}, []string{"--shm-size", "unknown unit"}},
		{fakeFlags{"restart": "always"}, []string{"--restart always: not supported yet"}},
		{fakeFlags{"oom-kill-disable": true}, []string{"--oom-kill-disable: refused"}},
	}
	for _, tt := range refused {
		if tt.parts == nil {
			continue
		}
		_, _, err := apply(t, tt.f)
		wantErr(t, err, tt.parts...)
	}
	o, m, err := apply(t, fakeFlags{"label": []string{"a=b", "c=d"}, "cpu-shares": "512", "stop-signal": "SIGQUIT",
		"pid": "private", "restart": "no", "privileged": false, "detach": false, "sig-proxy": true, "quiet": true, "rm": true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-l/--label a=b is ignored: safe-run keeps no container metadata yet",
		"-l/--label c=d is ignored: safe-run keeps no container metadata yet",
		"-c/--cpu-shares 512 is ignored: CPU time is limited by the --cpus quota (the profile's resources.cpus)",
		"--stop-signal SIGQUIT is ignored: safe-run forwards the signal it receives (SIGTERM, SIGINT, ...) to the program as it is",
	}
	if !reflect.DeepEqual(m.warnings, want) {
		t.Errorf("warnings = %q\nwant %q", m.warnings, want)
	}
	if !reflect.DeepEqual(o, profile.Overlay()) {
		t.Errorf("ignored flags changed the overlay: %+v", o)
	}
}

// Every flag of the table is a real, uniquely named cli flag, and each
// is documented in docs/docker-compat.md.
func TestDockerFlagsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/docker-compat.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range append(append([]cli.Flag{explainFlag}, runFlags...), imageFlags...) {
		for _, n := range f.Names() {
			if seen[n] {
				t.Errorf("flag %q defined twice", n)
			}
			seen[n] = true
		}
	}
	for _, g := range globalFlags {
		for _, n := range g.Names() {
			if seen[n] {
				t.Errorf("run flag %q shadows the global flag", n)
			}
		}
	}
	for _, f := range dockerRunFlags {
		n := "`--" + f.Names()[0]
		if !strings.Contains(string(doc), n+"`") && !strings.Contains(string(doc), n+" ") {
			t.Errorf("docs/docker-compat.md has no row for --%s", f.Names()[0])
		}
	}
}
