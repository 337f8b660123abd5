// Package bundle owns safe-run's state root and the private OCI bundle of
// each run: directories are 0700, every file is created with O_EXCL (never
// following or truncating something an attacker placed), and Remove takes
// everything away again.
package bundle

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// StateRoot returns the state directory: /run/safe-run as root,
// $XDG_RUNTIME_DIR/safe-run otherwise (falling back to /tmp/safe-run-UID).
func StateRoot(uid int, xdgRuntimeDir string) string {
	switch {
	case uid == 0:
		return "/run/safe-run"
	case xdgRuntimeDir != "":
		return filepath.Join(xdgRuntimeDir, "safe-run")
	}
	return fmt.Sprintf("/tmp/safe-run-%d", uid)
}

// Root is an opened state root.
type Root struct {
	Dir string
}

// Subdirectories of the state root.
const (
	bundlesDir = "bundles" // one bundle per live container
	runcDir    = "runc"    // runc --root
	cacheDir   = "cache"   // runtime features, keyed by binary identity
	rootfsDir  = "rootfs"  // shared read-only root skeletons, keyed by content
	initDir    = "init"    // copies of safe-run-init for SELinux hosts (0755: the container user runs it)
)

// Open creates (or checks) the state root: it must be a real directory
// owned by the caller and not writable by anyone else, because bundles
// and runc's state live inside.
func Open(dir string) (*Root, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state root %s: %w (set --state-dir or SAFE_RUN_STATE_DIR to a writable directory)", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", dir, err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return nil, fmt.Errorf("state root %s is not a directory (a symlink?): remove it", dir)
	case st != nil && int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("state root %s belongs to uid %d, not to you: remove it or use --state-dir", dir, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("state root %s is writable by others (mode %o): chmod 700 it", dir, fi.Mode().Perm())
	}
	for _, sub := range []string{bundlesDir, runcDir, cacheDir, rootfsDir} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("state root: %w", err)
		}
	}
	return &Root{Dir: dir}, nil
}

// RuncRoot is the directory given to runc --root.
func (r *Root) RuncRoot() string { return filepath.Join(r.Dir, runcDir) }

// CacheDir holds small caches (runtime features).
func (r *Root) CacheDir() string { return filepath.Join(r.Dir, cacheDir) }

// BundlesDir holds one directory per live container.
func (r *Root) BundlesDir() string { return filepath.Join(r.Dir, bundlesDir) }

// NewID returns a fresh container id.
func NewID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "safe-run-" + hex.EncodeToString(b)
}

// Bundle is one container's private directory.
type Bundle struct {
	ID  string
	Dir string
	// Rootfs is the root skeleton the container uses, when the bundle
	// made one: Dir/rootfs, or a shared skeleton of the state root.
	Rootfs string
	// SharedRootfs says Rootfs is shared with other containers.
	SharedRootfs bool
}

// Contents is what a bundle holds besides config.json.
type Contents struct {
	Spec     *specs.Spec
	Files    map[string]string // relative path -> content, written 0444
	Symlinks map[string]string // rootfs-relative name -> target
	Skeleton bool              // create rootfs/ (the host view's empty root)
	// ShareSkeleton lets rootfs/ be a link to a skeleton shared by every
	// container with the same symlinks and mount points. Only for a
	// read-only root: a container that could write to its root would
	// write into every other container's.
	ShareSkeleton bool
}

// Create makes the bundle directory for id (failing if it exists) and
// writes its contents. On error nothing is left behind.
func (r *Root) Create(id string, c Contents) (_ *Bundle, err error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return nil, fmt.Errorf("invalid container id %q", id)
	}
	dir := filepath.Join(r.BundlesDir(), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("a container named %q already exists: choose another name, or remove it (`safe-run rm %[1]s`; `safe-run gc` for one left by a killed safe-run)", id)
		}
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b := &Bundle{ID: id, Dir: dir}
	defer func() {
		if err != nil {
			_ = b.Remove()
		}
	}()
	switch {
	case c.Skeleton && c.ShareSkeleton:
		shared, err := r.sharedSkeleton(c)
		if err != nil {
			return nil, err
		}
		// runc refuses a symlinked root, so config.json names the shared
		// skeleton itself; the plan's spec (and `safe-run spec`) keep the
		// bundle-relative "rootfs", which is what the skeleton stands for.
		withRoot := *c.Spec
		root := *c.Spec.Root
		root.Path = shared
		withRoot.Root = &root
		c.Spec = &withRoot
		b.Rootfs, b.SharedRootfs = shared, true
	case c.Skeleton:
		b.Rootfs = filepath.Join(dir, "rootfs")
		if err := makeSkeleton(b.Rootfs, c.Symlinks); err != nil {
			return nil, err
		}
	}
	for rel, content := range c.Files {
		if err := writeExclusive(dir, rel, []byte(content), 0o444); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(c.Spec) // `safe-run spec` is the readable form
	if err != nil {
		return nil, err
	}
	if err := writeExclusive(dir, "config.json", append(data, '\n'), 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

// makeSkeleton creates an empty root directory holding symlinks.
func makeSkeleton(rootfs string, symlinks map[string]string) error {
	// 0755 so that a non-root container user can traverse its root.
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(rootfs, 0o755); err != nil { // undo the umask
		return err
	}
	for name, target := range symlinks {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			return err
		}
	}
	return nil
}

// sharedSkeleton returns the shared skeleton for c, creating it the first
// time. It is keyed by the symlinks and every mount destination (runc
// creates the mount points in it on first use, so containers with other
// mounts must not see them). Later runs skip building the skeleton and
// runc skips creating ~20 mount points: a few ms of every start.
func (r *Root) sharedSkeleton(c Contents) (string, error) {
	var dests []string
	for _, m := range c.Spec.Mounts {
		dests = append(dests, m.Destination)
	}
	sort.Strings(dests)
	key, _ := json.Marshal(struct {
		Symlinks map[string]string
		Mounts   []string
	}{c.Symlinks, dests})
	sum := sha256.Sum256(key)
	final := filepath.Join(r.Dir, rootfsDir, hex.EncodeToString(sum[:12]))
	if fi, err := os.Lstat(final); err == nil && fi.IsDir() {
		return final, nil
	}
	// Build under a unique name and rename into place, so concurrent
	// first runs never see a half-built skeleton.
	tmp, err := os.MkdirTemp(filepath.Join(r.Dir, rootfsDir), ".new-")
	if err != nil {
		return "", err
	}
	if err := os.Remove(tmp); err != nil {
		return "", err
	}
	if err := makeSkeleton(tmp, c.Symlinks); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp) // another run won the race: use its skeleton
		if fi, err2 := os.Lstat(final); err2 != nil || !fi.IsDir() {
			return "", err
		}
	}
	return final, nil
}

// writeExclusive creates dir/rel (and its parent directories inside dir)
// with O_EXCL|O_NOFOLLOW: it never writes through a symlink or into an
// existing file.
func writeExclusive(dir, rel string, data []byte, mode os.FileMode) error {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("bundle file %q escapes the bundle", rel)
	}
	p := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, mode)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // undo the umask
		f.Close()
		return err
	}
	return f.Close()
}

// Remove deletes the bundle. It refuses to cross into mounts (a rootfs
// still mounted somewhere would otherwise lose the host files bound into
// it): such entries are reported, not deleted.
func (b *Bundle) Remove() error {
	return removeNoCross(b.Dir)
}

// removeNoCross removes dir recursively without descending into other
// filesystems.
func removeNoCross(dir string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	dev := st.Dev
	var walk func(string) error
	walk = func(p string) error {
		var s syscall.Stat_t
		if err := syscall.Lstat(p, &s); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if s.Dev != dev {
			return fmt.Errorf("%s is still a mount point: unmount it, then run `safe-run gc`", p)
		}
		if s.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			entries, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := walk(filepath.Join(p, e.Name())); err != nil {
					return err
				}
			}
		}
		return os.Remove(p)
	}
	return walk(dir)
}

// List returns the ids of the bundles present (live or left behind).
func (r *Root) List() ([]string, error) {
	entries, err := os.ReadDir(r.BundlesDir())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids, nil
}

// Open returns the bundle of id.
func (r *Root) Bundle(id string) *Bundle {
	return &Bundle{ID: id, Dir: filepath.Join(r.BundlesDir(), id)}
}

// ownerFile records the safe-run process that owns a bundle: "PID STARTTIME"
// (start time from /proc/PID/stat, so a reused pid is not mistaken for it).
const ownerFile = "owner"

// MarkOwner records the current process as the bundle's owner.
func (b *Bundle) MarkOwner() error {
	start, err := processStart(os.Getpid())
	if err != nil {
		return err
	}
	return writeExclusive(b.Dir, ownerFile, []byte(fmt.Sprintf("%d %s\n", os.Getpid(), start)), 0o600)
}

// OwnerAlive reports whether the safe-run process that owns the bundle
// still runs. A bundle without an owner file is being created (or was
// left by a crash during creation): it counts as alive only while young.
func (b *Bundle) OwnerAlive() bool {
	data, err := os.ReadFile(filepath.Join(b.Dir, ownerFile))
	if err != nil {
		return false
	}
	var pid int
	var start string
	if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err != nil {
		return false
	}
	now, err := processStart(pid)
	return err == nil && now == start
}

// processStart returns field 22 (starttime) of /proc/PID/stat.
func processStart(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) may contain spaces; count after its ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return "", fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return "", fmt.Errorf("process %d has exited", pid) // not reaped yet
	}
	return fields[19], nil
}

// HasOwnerFile reports whether the bundle's owner was recorded.
func (b *Bundle) HasOwnerFile() bool {
	_, err := os.Stat(filepath.Join(b.Dir, ownerFile))
	return err == nil
}

// InstallInit copies the init binary at src into the state root once
// (keyed by its content) and returns the copy's path. Under SELinux the
// container's domain may only be entered from a file of a container type,
// which a binary installed in /usr cannot be given; the copy can.
func (r *Root) InstallInit(src string) (string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("safe-run-init: %w", err)
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(r.Dir, initDir)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	final := filepath.Join(dir, "safe-run-init-"+hex.EncodeToString(sum[:8]))
	if fi, err := os.Lstat(final); err == nil && fi.Mode().IsRegular() {
		return final, nil
	}
	tmp, err := os.CreateTemp(dir, ".new-")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o755), os.Rename(tmp.Name(), final)); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("installing safe-run-init: %w", err)
	}
	return final, nil
}

// WriteFile creates rel in the bundle with O_EXCL (never through a
// symlink, never over an existing file).
func (b *Bundle) WriteFile(rel string, data []byte, mode os.FileMode) error {
	return writeExclusive(b.Dir, rel, data, mode)
}

// Files of a detached container (`safe-run run -d`).
const (
	logFile    = "log"    // the container's stdout and stderr
	statusFile = "status" // its exit status, once it has exited
)

// LogPath is the detached container's log.
func (b *Bundle) LogPath() string { return filepath.Join(b.Dir, logFile) }

// CreateLog creates the detached container's log (O_EXCL, 0600) and
// returns it opened for appending.
func (b *Bundle) CreateLog() (*os.File, error) {
	f, err := os.OpenFile(b.LogPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return f, nil
}

// WriteStatus records the container's exit status (and, for a failure of
// safe-run or the runtime, its message). It appears atomically: a reader
// sees the whole status or none.
func (b *Bundle) WriteStatus(code int, msg string) error {
	tmp := statusFile + ".new"
	_ = os.Remove(filepath.Join(b.Dir, tmp))
	content := fmt.Sprintf("%d\n", code)
	if msg != "" {
		content += strings.ReplaceAll(msg, "\n", " ") + "\n"
	}
	if err := writeExclusive(b.Dir, tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(filepath.Join(b.Dir, tmp), filepath.Join(b.Dir, statusFile))
}

// ReadStatus returns the recorded exit status; ok is false while the
// container has not exited (or was never detached).
func (b *Bundle) ReadStatus() (code int, msg string, finished time.Time, ok bool) {
	p := filepath.Join(b.Dir, statusFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return 0, "", time.Time{}, false
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	if _, err := fmt.Sscanf(first, "%d", &code); err != nil {
		return 0, "", time.Time{}, false
	}
	if fi, err := os.Stat(p); err == nil {
		finished = fi.ModTime()
	}
	return code, strings.TrimSpace(rest), finished, true
}

// Owner returns the pid recorded in the owner file and whether that
// process still runs (0, false without an owner file).
func (b *Bundle) Owner() (pid int, alive bool) {
	data, err := os.ReadFile(filepath.Join(b.Dir, ownerFile))
	if err != nil {
		return 0, false
	}
	var start string
	if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err != nil {
		return 0, false
	}
	now, err := processStart(pid)
	return pid, err == nil && now == start
}
