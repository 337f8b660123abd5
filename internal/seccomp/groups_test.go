package seccomp

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// checkedArches are the architectures whose every syscall must be classified.
var checkedArches = []libseccomp.ScmpArch{libseccomp.ArchAMD64, libseccomp.ArchARM64}

// dangerousGroups must never meet the default allowlist.
var dangerousGroups = []string{
	"bpf", "clock", "cpu-emulation", "debug", "io-uring", "kexec", "keyring", "module",
	"mount", "obsolete", "perf", "privileged", "raw-io", "reboot", "swap",
}

// libseccompNames returns every syscall libseccomp knows for arch (real
// numbers only; a kernel's syscall numbers are all below 1024).
func libseccompNames(t *testing.T, arch libseccomp.ScmpArch) []string {
	t.Helper()
	var out []string
	for n := 0; n < 1024; n++ {
		name, err := libseccomp.ScmpSyscall(n).GetNameByArch(arch)
		if err == nil && name != "" {
			out = append(out, name)
		}
	}
	if len(out) < 250 {
		t.Fatalf("libseccomp %s knows only %d syscalls for %s", LibVersion(), len(out), arch)
	}
	return out
}

func inAnyGroup(name string) bool {
	for g, list := range groups {
		if g != "default" && slices.Contains(list, name) {
			return true
		}
	}
	return false
}

func TestGroupsCoverLibseccomp(t *testing.T) {
	for _, arch := range checkedArches {
		for _, name := range libseccompNames(t, arch) {
			if !inAnyGroup(name) && !slices.Contains(Unclassified, name) {
				t.Errorf("%s syscall %q (libseccomp %s) is in no group and not in Unclassified", arch, name, LibVersion())
			}
		}
	}
}

func TestUnclassified(t *testing.T) {
	if !slices.IsSorted(Unclassified) {
		t.Errorf("Unclassified is not sorted: %v", Unclassified)
	}
	if len(slices.Compact(slices.Clone(Unclassified))) != len(Unclassified) {
		t.Errorf("Unclassified has duplicates: %v", Unclassified)
	}
	for _, name := range Unclassified {
		if gs := GroupsOf(name); len(gs) > 0 {
			t.Errorf("%q is Unclassified but in %v", name, gs)
		}
	}
}

// Every name must be known to libseccomp on x86_64 or aarch64 (possibly
// as a pseudo number, i.e. a syscall of another architecture such as
// i386's chown32): a typo would otherwise only fail inside runc.
func TestGroupNamesKnownToLibseccomp(t *testing.T) {
	check := func(where, name string) {
		for _, arch := range checkedArches {
			if _, err := libseccomp.GetSyscallFromNameByArch(name, arch); err == nil {
				return
			}
		}
		t.Errorf("%s: libseccomp %s knows no syscall %q on x86_64 or aarch64", where, LibVersion(), name)
	}
	for g, list := range groups {
		for _, name := range list {
			check("@"+g, name)
		}
	}
	for _, name := range Unclassified {
		check("Unclassified", name)
	}
}

func TestGroupSpec(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	if _, ok := groupSpec["default"]; ok {
		t.Error(`groupSpec must not define "default" (it is DefaultAllow)`)
	}
	for g, list := range groupSpec {
		if !valid.MatchString(g) {
			t.Errorf("group name %q is not lower-case [a-z0-9-]", g)
		}
		if len(list) == 0 {
			t.Errorf("@%s is empty", g)
		}
		seen := map[string]bool{}
		for _, s := range list {
			if seen[s] {
				t.Errorf("@%s lists %q twice", g, s)
			}
			seen[s] = true
			if sub, ok := strings.CutPrefix(s, "@"); ok {
				if _, ok := groupSpec[sub]; !ok {
					t.Errorf("@%s includes unknown group %q", g, s)
				}
			} else if s == "" || strings.TrimSpace(s) != s {
				t.Errorf("@%s has a bad entry %q", g, s)
			}
		}
	}
}

func TestGroupsWellFormed(t *testing.T) {
	for g, list := range groups {
		if len(list) == 0 {
			t.Errorf("@%s is empty", g)
		}
		if len(slices.Compact(slices.Clone(list))) != len(list) && g != "default" {
			t.Errorf("@%s has duplicates", g)
		}
		if g != "default" && !slices.IsSorted(list) {
			t.Errorf("@%s is not sorted", g)
		}
		for _, s := range list {
			if strings.HasPrefix(s, "@") {
				t.Errorf("@%s still holds the include %q", g, s)
			}
		}
		doc := GroupDoc(g)
		if doc == "" || strings.Contains(doc, "\n") {
			t.Errorf("@%s needs a one-line groupDoc entry, has %q", g, doc)
		}
	}
	for g := range groupDoc {
		if _, ok := groups[g]; !ok {
			t.Errorf("groupDoc describes unknown group %q", g)
		}
	}
	names := GroupNames()
	if len(names) != len(groups) || !slices.IsSorted(names) {
		t.Errorf("GroupNames() = %v", names)
	}
	for _, n := range names {
		if _, err := Group(strings.TrimPrefix(n, "@")); err != nil {
			t.Errorf("Group(%q): %v", n, err)
		}
	}
	if _, err := Group("nosuch"); err == nil || !strings.Contains(err.Error(), "@system-service") {
		t.Errorf("Group(nosuch) = %v, want the valid groups listed", err)
	}
}

func TestExpandGroupsIncludes(t *testing.T) {
	got := expandGroups(map[string][]string{"a": {"z", "@b", "y"}, "b": {"y", "x"}})
	if !slices.Equal(got["a"], []string{"x", "y", "z"}) || !slices.Equal(got["b"], []string{"x", "y"}) {
		t.Errorf("expandGroups = %v", got)
	}
	for _, spec := range []map[string][]string{
		{"a": {"@b"}, "b": {"@a"}},
		{"a": {"@nosuch"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("expandGroups(%v) did not panic", spec)
				}
			}()
			expandGroups(spec)
		}()
	}
}

// Denial messages name the group of a refused syscall, and a profile can
// add a group back: every default syscall must therefore have one.
func TestDefaultAllowGrouped(t *testing.T) {
	for _, name := range DefaultAllow {
		if len(GroupsOf(name)) == 0 {
			t.Errorf("default syscall %q is in no group", name)
		}
	}
}

func TestDangerousGroupsNotInDefault(t *testing.T) {
	for _, g := range dangerousGroups {
		list, err := Group(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range list {
			if slices.Contains(DefaultAllow, name) {
				t.Errorf("dangerous group @%s holds %q, which the default allowlist allows", g, name)
			}
		}
	}
}

func TestSystemService(t *testing.T) {
	svc, err := Group("system-service")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range DefaultAllow {
		if !slices.Contains(svc, name) {
			t.Errorf("@system-service lacks default syscall %q", name)
		}
	}
	for _, g := range dangerousGroups {
		for _, name := range groups[g] {
			if slices.Contains(svc, name) {
				t.Errorf("@system-service holds %q of @%s", name, g)
			}
		}
	}
}

func TestGroupsOf(t *testing.T) {
	for name, want := range map[string]string{
		"ptrace": "@debug", "mount": "@mount", "bpf": "@bpf", "io_uring_setup": "@io-uring",
		"unshare": "@namespaces", "kexec_load": "@kexec", "keyctl": "@keyring", "read": "@basic-io",
	} {
		if gs := GroupsOf(name); !slices.Contains(gs, want) || !slices.IsSorted(gs) || slices.Contains(gs, "@default") {
			t.Errorf("GroupsOf(%q) = %v, want it to hold %s", name, gs, want)
		}
	}
	if gs := GroupsOf("nosuch"); len(gs) != 0 {
		t.Errorf("GroupsOf(nosuch) = %v", gs)
	}
}

func TestKnown(t *testing.T) {
	known := Known()
	if !slices.IsSorted(known) || len(slices.Compact(slices.Clone(known))) != len(known) {
		t.Error("Known() is not sorted and unique")
	}
	for _, arch := range checkedArches {
		for _, name := range libseccompNames(t, arch) {
			if _, found := slices.BinarySearch(known, name); !found {
				t.Errorf("Known() lacks %s syscall %q", arch, name)
			}
		}
	}
	for _, name := range extraKnown {
		if _, found := slices.BinarySearch(known, name); !found {
			t.Errorf("Known() lacks extraKnown %q", name)
		}
	}
}

// The filter names every known syscall, including other architectures'
// (pseudo numbers on this one): libseccomp must accept them all.
func TestKnownCompiles(t *testing.T) {
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(38))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append([]libseccomp.ScmpArch{libseccomp.ArchX86}, checkedArches...) {
		if a != native {
			if err := f.AddArch(a); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range Known() {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			t.Errorf("GetSyscallFromName(%q): %v", name, err)
			continue
		}
		if err := f.AddRule(nr, libseccomp.ActErrno.SetReturnCode(1)); err != nil {
			t.Errorf("AddRule(%q = %d): %v", name, nr, err)
		}
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	if err := f.ExportBPF(devnull); err != nil {
		t.Fatal(err)
	}
}
