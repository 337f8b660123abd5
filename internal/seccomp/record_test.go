package seccomp_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"gopkg.in/yaml.v3"

	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/profiles"
)

func call(name string, args ...uint64) *seccomp.Notification {
	n := &seccomp.Notification{Syscall: name, Arch: libseccomp.ArchAMD64}
	copy(n.Args[:], args)
	return n
}

// loadProfile resolves ref from dir (and the shipped profiles).
func loadProfile(t *testing.T, dir, ref string) *profile.Resolved {
	t.Helper()
	f := &profile.Finder{Dirs: []string{dir}, Embedded: profiles.FS}
	r, err := f.Load(ref)
	if err != nil {
		t.Fatalf("load %s: %v", ref, err)
	}
	return r
}

func TestRecorderResponses(t *testing.T) {
	rec := &seccomp.Recorder{Policy: seccomp.DefaultPolicy()}
	for _, c := range []struct {
		n         *seccomp.Notification
		continue_ bool
		errno     int
	}{
		{call("ptrace", 0), true, 0},
		{call("clone", seccomp.CloneNewUser|17), true, 0},
		{call("socket", 40, 1), true, 0},
		// what no profile can allow stays refused, with the profile's errno
		{call("ioctl", 0, 0x5412), false, 1},
		{call("ioctl", 0, 0x1_0000541C), false, 1},
		{call("personality", 0x0400000), false, 1},
		{&seccomp.Notification{Arch: libseccomp.ArchAMD64, Nr: 4000}, false, 38},
	} {
		r := rec.Handle(c.n)
		if r.Continue != c.continue_ || r.Errno != c.errno {
			t.Errorf("Handle(%s) = %+v, want continue %v errno %d", seccomp.DescribeCall(c.n), r, c.continue_, c.errno)
		}
	}
	if rec.Total() != 7 {
		t.Errorf("Total() = %d, want 7", rec.Total())
	}
}

// TestFragmentRoundTrip records against a base that denies some file
// syscalls, writes the fragment next to it and loads it with the
// profile package: the fragment must resolve and allow what was seen.
func TestFragmentRoundTrip(t *testing.T) {
	dir := t.TempDir()
	base := "extends: default\nseccomp:\n  deny: [mkdir, mkdirat, rename, renameat, renameat2]\n"
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadProfile(t, dir, "base")
	if slices.Contains(r.Seccomp.Allow, "mkdir") {
		t.Fatal("the base allows mkdir")
	}
	rec := &seccomp.Recorder{Policy: plan.SeccompPolicy(r, plan.Request{})}
	for _, n := range []*seccomp.Notification{
		call("mkdir"), call("mkdir"), call("rename"), call("ptrace", 0),
		call("unshare", seccomp.CloneNewNS),
		call("socket", 40, 1), call("socket", 40, 1), call("socket", 38, 5),
		call("ioctl", 0, 0x5412),
		call("mkdir"),
	} {
		rec.Handle(n)
	}
	info := seccomp.FragmentInfo{Extends: "base", Profile: r.Name, Command: "safe-run record base -- sh -c 'x\ny'",
		Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Status: "exit status 0", Arch: "SCMP_ARCH_X86_64",
		Families: r.Seccomp.SocketFamilies, Namespaces: r.Seccomp.Namespaces}
	frag := rec.Fragment(info, func(name string) error { return seccomp.CheckName(name, seccomp.NativeArch()) })
	t.Logf("fragment:\n%s", frag)
	for _, want := range []string{
		"# Profile fragment written by `safe-run record` on 2025-01-02T03:04:05Z.",
		`#   command: safe-run record base -- sh -c 'x\ny'`, // one line whatever the command holds
		`# Profile "base" refused 10 calls; all but the 1 that no profile can allow were let through and recorded.`,
		"Coverage: only the code paths this run exercised were observed",
		"safe-run-init calls only syscalls of the",
		"stayed refused while recording: ioctl(TIOCSTI) (1 call)",
		"extends: base\n",
		"    # @debug: ptrace (1 call)\n    - ptrace\n",
		"    # @file-system: mkdir (3 calls), rename (1 call)\n    - mkdir\n    - rename\n",
		"  namespaces: [mount]\n",
		"  socket-families: [inet, inet6, netlink, unix, alg, vsock]\n",
		"# new socket families: alg (1 call), vsock (2 calls)",
	} {
		if !strings.Contains(frag, want) {
			t.Errorf("fragment lacks %q", want)
		}
	}
	if strings.Contains(frag, "self-sandbox") {
		t.Error("self-sandbox without user namespaces or chroot")
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(frag), &doc); err != nil {
		t.Fatalf("the fragment is not YAML: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dir, "recorded.yaml"), []byte(frag), 0o644); err != nil {
		t.Fatal(err)
	}
	got := loadProfile(t, dir, "recorded")
	for _, name := range []string{"mkdir", "rename", "ptrace"} {
		if !slices.Contains(got.Seccomp.Allow, name) {
			t.Errorf("the recorded profile does not allow %s", name)
		}
	}
	if slices.Contains(got.Seccomp.Allow, "renameat2") {
		t.Error("the recorded profile allows renameat2, which was never seen")
	}
	if !slices.Equal(got.Seccomp.Namespaces, []string{"mount"}) {
		t.Errorf("namespaces = %q, want [mount]", got.Seccomp.Namespaces)
	}
	if want := []string{"alg", "inet", "inet6", "netlink", "unix", "vsock"}; !slices.Equal(got.Seccomp.SocketFamilies, want) {
		t.Errorf("socket-families = %q, want %q", got.Seccomp.SocketFamilies, want)
	}

	// Under the recorded profile, the same calls are no longer refused:
	// the explainer (which mirrors the filter) has nothing to say.
	pol := plan.SeccompPolicy(got, plan.Request{})
	allowed := map[string]bool{}
	for _, n := range pol.Allow {
		allowed[n] = true
	}
	if !allowed["mkdir"] || pol.Namespaces&seccomp.CloneNewNS == 0 || !slices.Contains(pol.Families, 40) {
		t.Errorf("policy of the recorded profile: %+v", pol)
	}
}

// A user namespace means self-sandbox (user namespaces and chroot go
// together), and chroot is then not listed on its own.
func TestFragmentSelfSandbox(t *testing.T) {
	dir := t.TempDir()
	r := loadProfile(t, dir, "default")
	rec := &seccomp.Recorder{Policy: plan.SeccompPolicy(r, plan.Request{})}
	rec.Handle(call("clone", seccomp.CloneNewUser|seccomp.CloneNewPID|17))
	rec.Handle(call("chroot"))
	rec.Handle(call("unshare", seccomp.CloneNewUTS))
	frag := rec.Fragment(seccomp.FragmentInfo{Extends: "default", Profile: "default", Command: "x",
		Namespaces: r.Seccomp.Namespaces, Families: r.Seccomp.SocketFamilies}, nil)
	t.Logf("fragment:\n%s", frag)
	if !strings.Contains(frag, "  self-sandbox: true\n") || strings.Contains(frag, "- chroot") {
		t.Error("want self-sandbox: true instead of chroot")
	}
	if !strings.Contains(frag, "  namespaces: [uts]\n") {
		t.Error("want namespaces: [uts] (user and pid come with self-sandbox)")
	}
	if strings.Contains(frag, "socket-families") {
		t.Error("socket-families written though no new family was seen")
	}
	if err := os.WriteFile(filepath.Join(dir, "rec.yaml"), []byte(frag), 0o644); err != nil {
		t.Fatal(err)
	}
	got := loadProfile(t, dir, "rec")
	if !got.Seccomp.SelfSandbox || !slices.Contains(got.Seccomp.Allow, "chroot") ||
		!slices.Equal(got.Seccomp.Namespaces, []string{"ipc", "net", "pid", "user", "uts"}) {
		t.Errorf("recorded profile: self-sandbox %v, namespaces %q", got.Seccomp.SelfSandbox, got.Seccomp.Namespaces)
	}
}

func TestFragmentNothingRecorded(t *testing.T) {
	rec := &seccomp.Recorder{Policy: seccomp.DefaultPolicy()}
	frag := rec.Fragment(seccomp.FragmentInfo{Extends: "/etc/my profiles/a.yaml", Profile: "a", Command: "x"}, nil)
	if !strings.Contains(frag, `extends: "/etc/my profiles/a.yaml"`) && !strings.Contains(frag, "extends: /etc/my profiles/a.yaml") {
		t.Errorf("extends line missing:\n%s", frag)
	}
	if strings.Contains(frag, "seccomp:") || !strings.Contains(frag, "the base profile is enough") {
		t.Errorf("empty recording:\n%s", frag)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(frag), &doc); err != nil || doc["extends"] != "/etc/my profiles/a.yaml" {
		t.Errorf("YAML %v: %v", doc, err)
	}
}
