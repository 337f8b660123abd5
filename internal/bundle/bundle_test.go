package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCreateWritesPrivateBundleAndRemoveTakesItAway(t *testing.T) {
	root, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.Create("c1", Contents{
		Spec:     &specs.Spec{Version: "1.0.2", Root: &specs.Root{Path: "rootfs"}},
		Files:    map[string]string{"etc/passwd": "root:x:0:0::/:/bin/sh\n"},
		Symlinks: map[string]string{"bin": "usr/bin"},
		Skeleton: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(b.Dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("bundle dir mode %o, want 700", fi.Mode().Perm())
	}
	var s specs.Spec
	data, _ := os.ReadFile(filepath.Join(b.Dir, "config.json"))
	if err := json.Unmarshal(data, &s); err != nil || s.Root.Path != "rootfs" {
		t.Errorf("config.json: %v %+v", err, s.Root)
	}
	if target, _ := os.Readlink(filepath.Join(b.Dir, "rootfs", "bin")); target != "usr/bin" {
		t.Errorf("symlink bin -> %q", target)
	}
	if fi, _ := os.Stat(filepath.Join(b.Dir, "etc/passwd")); fi.Mode().Perm() != 0o444 {
		t.Errorf("etc/passwd mode %o", fi.Mode().Perm())
	}
	if _, err := root.Create("c1", Contents{Spec: &specs.Spec{}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Create with the same id: %v", err)
	}
	if err := b.Remove(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := root.List(); len(ids) != 0 {
		t.Errorf("bundles left: %v", ids)
	}
}

func TestWriteExclusiveNeverFollowsOrOverwrites(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	if err := writeExclusive(dir, "config.json", []byte("x"), 0o600); err == nil {
		t.Error("wrote through a symlink")
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("victim changed to %q", data)
	}
	if err := writeExclusive(dir, "../escape", []byte("x"), 0o600); err == nil {
		t.Error("wrote outside the bundle")
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	root, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = root.Create("c2", Contents{Spec: &specs.Spec{}, Files: map[string]string{"../x": "y"}})
	if err == nil {
		t.Fatal("Create accepted a file outside the bundle")
	}
	if ids, _ := root.List(); len(ids) != 0 {
		t.Errorf("a failed Create left %v", ids)
	}
}

func TestOpenRefusesUnsafeStateRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("world-writable state root: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("symlinked state root: %v", err)
	}
}

func TestOwner(t *testing.T) {
	root, _ := Open(filepath.Join(t.TempDir(), "state"))
	b, err := root.Create("c3", Contents{Spec: &specs.Spec{}})
	if err != nil {
		t.Fatal(err)
	}
	if b.OwnerAlive() {
		t.Error("a bundle without owner file counts as owned")
	}
	if err := b.MarkOwner(); err != nil {
		t.Fatal(err)
	}
	if !b.OwnerAlive() {
		t.Error("this process owns the bundle but OwnerAlive is false")
	}
	// A dead owner: pid 1's start time never matches a made-up value.
	os.Remove(filepath.Join(b.Dir, ownerFile))
	os.WriteFile(filepath.Join(b.Dir, ownerFile), []byte("1 999999999999\n"), 0o600)
	if b.OwnerAlive() {
		t.Error("a reused pid with another start time counts as the owner")
	}
}

func TestStateRoot(t *testing.T) {
	if got := StateRoot(0, "/run/user/0"); got != "/run/safe-run" {
		t.Errorf("root: %s", got)
	}
	if got := StateRoot(1000, "/run/user/1000"); got != "/run/user/1000/safe-run" {
		t.Errorf("user: %s", got)
	}
	if got := StateRoot(1000, ""); got != "/tmp/safe-run-1000" {
		t.Errorf("no XDG_RUNTIME_DIR: %s", got)
	}
}

func TestStatusAndLog(t *testing.T) {
	root, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.Create("d1", Contents{Spec: &specs.Spec{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := b.ReadStatus(); ok {
		t.Fatal("status before the container exited")
	}
	if err := b.WriteStatus(143, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteStatus(125, "runc failed\nbadly"); err != nil { // replaces it
		t.Fatal(err)
	}
	if code, msg, _, ok := b.ReadStatus(); !ok || code != 125 || msg != "runc failed badly" {
		t.Errorf("status = %d %q %v", code, msg, ok)
	}
	f, err := b.CreateLog()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := b.CreateLog(); err == nil {
		t.Error("CreateLog over an existing log")
	}
	if pid, alive := b.Owner(); pid != 0 || alive {
		t.Errorf("owner before MarkOwner: %d %v", pid, alive)
	}
	if err := b.MarkOwner(); err != nil {
		t.Fatal(err)
	}
	if pid, alive := b.Owner(); pid != os.Getpid() || !alive {
		t.Errorf("owner = %d %v", pid, alive)
	}
}
