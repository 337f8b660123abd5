package plan

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

func facts() *host.Facts {
	return &host.Facts{
		UID: 0, GID: 0, UserName: "root", Home: "/root", Cwd: "/work",
		Cgroup:     host.Cgroup{Mode: "hybrid", Usable: map[string]bool{"memory": true, "cpu": true, "pids": true}},
		UsrMerge:   map[string]string{"bin": "usr/bin", "lib": "usr/lib"},
		EtcEntries: []string{"ld.so.cache"},
		HardLimits: map[string]uint64{"nofile": 20000, "core": ^uint64(0)},
		InitPath:   "/init",
	}
}

func rootless(subids bool) *host.Facts {
	f := facts()
	f.UID, f.GID, f.UserName, f.Home, f.Rootless = 1000, 1000, "alice", "/home/alice", true
	f.Cgroup = host.Cgroup{Mode: "hybrid", Usable: map[string]bool{}, Why: "no delegation here"}
	if subids {
		f.SubUIDs, f.SubGIDs, f.HaveIDMaps = []host.IDRange{{Start: 100000, Count: 65536}}, []host.IDRange{{Start: 100000, Count: 65536}}, true
	}
	return f
}

func load(t *testing.T, yaml string) *profile.Resolved {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/p.yaml"
	if err := writeFile(path, yaml); err != nil {
		t.Fatal(err)
	}
	r, err := (&profile.Finder{Embedded: profiles.FS}).Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func build(t *testing.T, r *profile.Resolved, f *host.Facts, req Request) *Plan {
	t.Helper()
	if req.ID == "" {
		req.ID = "t"
	}
	p, err := Build(r, f, req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// initChecks returns the --check values passed to the init.
func initChecks(s *specs.Spec) []string {
	var out []string
	for i, a := range s.Process.Args {
		if a == "--check" {
			out = append(out, s.Process.Args[i+1])
		}
		if a == "--" {
			break
		}
	}
	return out
}

func TestDefaultRootfulChecksEveryControl(t *testing.T) {
	p := build(t, load(t, "description: d\n"), facts(), Request{})
	got := initChecks(p.Spec)
	for _, want := range []string{"ro=/", "ro=/usr", "caps=0x0", "nnp=1", "seccomp=2", "memory=536870912", "cpu=100000/100000", "pids=256"} {
		if !slices.Contains(got, want) {
			t.Errorf("init checks %v lack %q", got, want)
		}
	}
	if p.Spec.Linux.CgroupsPath != "/safe-run/t" {
		t.Errorf("cgroupsPath = %q", p.Spec.Linux.CgroupsPath)
	}
	if p.Symlinks["bin"] != "usr/bin" || !p.HostView {
		t.Errorf("host view skeleton = %v", p.Symlinks)
	}
	if !strings.Contains(p.Files["etc/passwd"], "nobody:x:65534:65534") || strings.Contains(p.Files["etc/passwd"], "alice") {
		t.Errorf("passwd = %q", p.Files["etc/passwd"])
	}
}

func TestRootlessWithoutDelegationWarnsAndSetsNoCgroup(t *testing.T) {
	p := build(t, load(t, "description: d\n"), rootless(true), Request{})
	if p.Spec.Linux.CgroupsPath != "" || p.Spec.Linux.Resources.Pids != nil || p.Spec.Linux.Resources.Memory != nil {
		t.Errorf("rootless without delegation must not ask runc for cgroups: %+v", p.Spec.Linux.Resources)
	}
	if len(p.Warnings) != 3 || !strings.Contains(strings.Join(p.Warnings, "\n"), "resources.pids 256 is NOT in force: no delegation here") {
		t.Errorf("warnings = %q", p.Warnings)
	}
	for _, c := range initChecks(p.Spec) {
		if strings.HasPrefix(c, "pids=") || strings.HasPrefix(c, "memory=") {
			t.Errorf("init would check a limit that is not applied: %s", c)
		}
	}
	if p.Spec.Process.User.UID != 65534 || len(p.Spec.Linux.UIDMappings) != 2 {
		t.Errorf("with subordinate ids the user stays 65534: user %+v maps %+v", p.Spec.Process.User, p.Spec.Linux.UIDMappings)
	}
}

func TestRootlessWithoutSubIDsRunsAsNamespaceRoot(t *testing.T) {
	p := build(t, load(t, "description: d\n"), rootless(false), Request{})
	if p.Spec.Process.User.UID != 0 || len(p.Spec.Linux.UIDMappings) != 1 || p.Spec.Linux.UIDMappings[0].HostID != 1000 {
		t.Errorf("user %+v maps %+v", p.Spec.Process.User, p.Spec.Linux.UIDMappings)
	}
	if len(p.Notices) == 0 || !strings.Contains(p.Notices[0], "not mapped") {
		t.Errorf("notices = %q", p.Notices)
	}
}

func TestRequiredLimitsRefusedWhenNotApplicable(t *testing.T) {
	_, err := Build(load(t, "resources: {required: true}\n"), rootless(true), Request{ID: "t"})
	if err == nil || !strings.Contains(err.Error(), "requires its limits") {
		t.Fatalf("err = %v", err)
	}
}

func TestRlimitAboveHostHardLimitRefused(t *testing.T) {
	_, err := Build(load(t, "rlimits: {nofile: \"1024:1048576\"}\n"), facts(), Request{ID: "t"})
	if err == nil || !strings.Contains(err.Error(), "above this host's current hard limit 20000") {
		t.Fatalf("err = %v", err)
	}
}

func TestBinds(t *testing.T) {
	r := load(t, "binds:\n  - {source: ~/data, target: /data}\n  - {source: ./out, target: /out, writable: true}\n  - {source: /nope, target: /nope, optional: true}\n")
	p := build(t, r, facts(), Request{BindSources: map[string]bool{"/root/data": true, "/work/out": true}})
	var got []string
	for _, m := range p.Spec.Mounts {
		if m.Type == "bind" && (m.Destination == "/data" || m.Destination == "/out" || m.Destination == "/nope") {
			got = append(got, m.Source+">"+m.Destination+":"+m.Options[1])
		}
	}
	if strings.Join(got, " ") != "/root/data>/data:ro /work/out>/out:rw" {
		t.Errorf("binds = %v", got)
	}
	if !slices.Contains(initChecks(p.Spec), "ro=/data") {
		t.Errorf("read-only bind not verified: %v", initChecks(p.Spec))
	}
	if !strings.Contains(strings.Join(p.Notices, "\n"), "optional bind /nope -> /nope skipped") {
		t.Errorf("notices = %q", p.Notices)
	}
	if _, err := Build(r, facts(), Request{ID: "t", BindSources: map[string]bool{}}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bind source: err = %v", err)
	}
}

func TestRefusedBindSources(t *testing.T) {
	for _, src := range []string{"/var/run/docker.sock", "/run/containerd/containerd.sock", "/run/safe-run"} {
		r := load(t, "binds:\n  - {source: \""+src+"\", target: /x}\n")
		if _, err := Build(r, facts(), Request{ID: "t", BindSources: map[string]bool{src: true}}); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: err = %v", src, err)
		}
	}
	r := load(t, "binds:\n  - {source: /root, target: /h, writable: true}\n")
	if _, err := Build(r, facts(), Request{ID: "t", BindSources: map[string]bool{"/root": true}}); err == nil || !strings.Contains(err.Error(), "whole home") {
		t.Errorf("writable home: err = %v", err)
	}
}

func TestDropControlKeepsTheCheck(t *testing.T) {
	r := load(t, "description: d\n")
	for control, check := range map[string]string{"nnp": "nnp=1", "seccomp": "seccomp=2", "caps": "caps=0x0", "readonly": "ro=/", "pids": "pids=256"} {
		p := build(t, r, facts(), Request{DropControl: control})
		if !slices.Contains(initChecks(p.Spec), check) {
			t.Errorf("%s: the init no longer checks %s", control, check)
		}
		s := p.Spec
		dropped := map[string]bool{
			"nnp": !s.Process.NoNewPrivileges, "seccomp": s.Linux.Seccomp == nil,
			"caps": len(s.Process.Capabilities.Effective) == 1, "readonly": !s.Root.Readonly,
			"pids": s.Linux.Resources.Pids == nil,
		}[control]
		if !dropped {
			t.Errorf("%s: the control is still in the spec", control)
		}
	}
}

func TestUnsafeSwitches(t *testing.T) {
	r := load(t, "network: host\nunsafe: {disable-network-isolation: true, disable-seccomp: true, disable-readonly-root: true}\n")
	p := build(t, r, facts(), Request{})
	for _, ns := range p.Spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Error("host network still has a network namespace")
		}
	}
	if p.Spec.Linux.Seccomp != nil || p.Spec.Root.Readonly {
		t.Error("unsafe switches not applied")
	}
	checks := initChecks(p.Spec)
	if slices.Contains(checks, "seccomp=2") || slices.Contains(checks, "ro=/") {
		t.Errorf("checks for disabled controls: %v", checks)
	}
	if len(p.Warnings) != 3 {
		t.Errorf("every weakening must be warned about: %q", p.Warnings)
	}
}

func TestSameInputsSameSpec(t *testing.T) {
	r := load(t, "env: {set: {B: \"2\", A: \"1\"}}\n")
	a := build(t, r, facts(), Request{CallerEnv: []string{"TERM=xterm", "SECRET=x"}})
	b := build(t, r, facts(), Request{CallerEnv: []string{"SECRET=x", "TERM=xterm"}})
	if strings.Join(a.Spec.Process.Env, ",") != strings.Join(b.Spec.Process.Env, ",") {
		t.Errorf("env order depends on input order: %v vs %v", a.Spec.Process.Env, b.Spec.Process.Env)
	}
	if slices.Contains(a.Spec.Process.Env, "SECRET=x") || !slices.Contains(a.Spec.Process.Env, "TERM=xterm") {
		t.Errorf("only env.pass variables may pass: %v", a.Spec.Process.Env)
	}
}

func TestSELinuxLabels(t *testing.T) {
	on := facts()
	on.SELinuxEnabled = true
	r := load(t, "description: d\n")
	if _, err := Build(r, on, Request{ID: "t"}); err == nil || !strings.Contains(err.Error(), "none were allocated") {
		t.Errorf("labels wanted but not allocated: err = %v", err)
	}
	p := build(t, r, on, Request{ProcessLabel: "system_u:system_r:container_t:s0:c1,c2", MountLabel: "system_u:object_r:container_file_t:s0:c1,c2"})
	if p.Spec.Process.SelinuxLabel != "system_u:system_r:container_t:s0:c1,c2" || p.Spec.Linux.MountLabel != "system_u:object_r:container_file_t:s0:c1,c2" {
		t.Errorf("labels not in the spec: %q %q", p.Spec.Process.SelinuxLabel, p.Spec.Linux.MountLabel)
	}
	// auto on a host without SELinux: no labels (runc would refuse them), and a notice.
	off := build(t, r, facts(), Request{})
	if off.Spec.Process.SelinuxLabel != "" || !strings.Contains(strings.Join(off.Notices, "\n"), "SELinux is not enabled") {
		t.Errorf("auto without SELinux: label %q notices %q", off.Spec.Process.SelinuxLabel, off.Notices)
	}
	req := load(t, "selinux: {mode: required}\n")
	if _, err := Build(req, facts(), Request{ID: "t"}); err == nil || !strings.Contains(err.Error(), "\"required\" but SELinux is not enabled") {
		t.Errorf("required without SELinux: err = %v", err)
	}
	disabled := load(t, "selinux: {mode: \"off\"}\nunsafe: {disable-selinux: true}\n")
	if w, _ := LabelsWanted(disabled, on); w {
		t.Error("mode off still wants labels")
	}
	if got := LabelOptions(load(t, "selinux: {type: spc_t, level: \"s0:c5,c6\"}\n")); strings.Join(got, " ") != "type:spc_t level:s0:c5,c6" {
		t.Errorf("label options = %v", got)
	}
}

func TestCapabilitiesNeedUIDZero(t *testing.T) {
	r := load(t, "capabilities: {add: [NET_BIND_SERVICE]}\n")
	if _, err := Build(r, facts(), Request{ID: "t"}); err == nil || !strings.Contains(err.Error(), "needs the program to run as uid 0") {
		t.Errorf("non-root user with capabilities: err = %v", err)
	}
	p := build(t, load(t, "user: \"0:0\"\ncapabilities: {add: [NET_BIND_SERVICE]}\n"), facts(), Request{})
	if got := p.Spec.Process.Capabilities; len(got.Effective) != 1 || len(got.Ambient) != 0 || len(got.Inheritable) != 0 {
		t.Errorf("capabilities = %+v", got)
	}
	if !slices.Contains(initChecks(p.Spec), "caps=0x400") {
		t.Errorf("checks = %v", initChecks(p.Spec))
	}
}
