package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxUnpackBytes bounds what unpacking one image may write (file
// contents plus entryCost per entry) when Store.MaxUnpackBytes is 0.
const DefaultMaxUnpackBytes int64 = 8 << 30

// entryCost is what each tar entry counts against the bound besides its
// contents (one tar header), so that millions of empty files, which cost
// inodes rather than bytes, also hit it.
const entryCost = 512

// maxNameLen bounds entry names and link targets (PATH_MAX): longer names
// cannot be created anyway, and a PAX header can make them up to 1 MiB.
const maxNameLen = 4096

// trailingSlack is how much data a layer may carry after its tar
// end-of-archive marker (padding to the record size is normal; gigabytes
// of trailing garbage only cost time).
const trailingSlack = 1 << 20

// Whiteout names (OCI image spec, "Representing Changes"): .wh.NAME in a
// layer deletes NAME of the layers below; .wh..wh..opq hides everything
// the layers below had in its directory.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// UnpackOptions are the unpacker's policies.
type UnpackOptions struct {
	// MaxBytes bounds the total written over all layers (0: the default).
	MaxBytes int64
	// KeepSetuid keeps setuid/setgid bits of regular files; by default
	// they are stripped (the container runs with no_new_privs anyway, so
	// they could only matter to a profile that wants them).
	KeepSetuid bool
	// Chown applies the uid/gid recorded in the tar. Only root can: as
	// root the tree keeps the image's ownership and the container's
	// user sees its files as the image meant. Rootless, every file ends
	// up owned by the caller, who is root inside the container's user
	// namespace; files the image gave to another user are then root's.
	Chown bool
}

// UnpackStats counts what the unpacker did besides writing files.
type UnpackStats struct {
	Bytes    int64 // counted against MaxBytes
	Entries  int
	Skipped  int // device nodes and fifos, never created
	Stripped int // regular files whose setuid/setgid bits were removed
}

// Unpacker applies image layers, bottom first, to a directory tree. It
// trusts nothing in the layers: see resolveDir for paths, and entry for
// each kind of entry.
type Unpacker struct {
	opts   UnpackOptions
	root   string
	rootFd int
	stats  UnpackStats
	layer  int
	// dirs holds the final mode and mtime of every directory, applied
	// by Finish: during unpacking directories stay 0700 so that a
	// rootless caller can still create files in an image's 0555 dirs.
	dirs map[string]dirMeta
	// skipped are paths not created (device nodes): a hardlink to one
	// is skipped as well.
	skipped map[string]bool
}

type dirMeta struct {
	mode  uint32
	mtime time.Time
}

// NewUnpacker opens root, an existing directory, for unpacking.
func NewUnpacker(root string, opts UnpackOptions) (*Unpacker, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxUnpackBytes
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	return &Unpacker{opts: opts, root: root, rootFd: fd, dirs: map[string]dirMeta{}, skipped: map[string]bool{}}, nil
}

// Close releases the root; it does not apply directory modes (Finish).
func (u *Unpacker) Close() error {
	if u.rootFd < 0 {
		return nil
	}
	err := unix.Close(u.rootFd)
	u.rootFd = -1
	return err
}

// Stats reports what was done so far.
func (u *Unpacker) Stats() UnpackStats { return u.stats }

// Layer applies one uncompressed layer (a tar stream) and reads r to its
// end, so that a caller hashing r sees every byte.
func (u *Unpacker) Layer(r io.Reader) error {
	u.layer++
	tr := tar.NewReader(r)
	// inLayer holds this layer's paths and their parents: an opaque
	// whiteout spares what its own layer put in the directory.
	inLayer := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("layer %d: reading the tar stream: %w", u.layer, err)
		}
		if err := u.entry(hdr, tr, inLayer); err != nil {
			return fmt.Errorf("layer %d: %w", u.layer, err)
		}
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, trailingSlack+1))
	if err != nil {
		return fmt.Errorf("layer %d: reading past the end of the tar stream: %w", u.layer, err)
	}
	if n > trailingSlack {
		return fmt.Errorf("layer %d: more than %d bytes after the end of the tar stream: refused", u.layer, trailingSlack)
	}
	return nil
}

// cleanName checks an entry name (or hardlink target) from a layer and
// returns it relative to the root, "" for the root itself. Absolute names
// and any ".." component are refused outright, even when they would stay
// inside: no tool that builds layers writes them, and tolerating them is
// how path traversal gets in.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name: refused")
	case len(name) > maxNameLen:
		return "", fmt.Errorf("name longer than %d bytes: refused", maxNameLen)
	case strings.ContainsRune(name, 0):
		return "", errors.New("NUL byte in the name: refused")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("absolute path: refused (layer paths are relative to the image's root)")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`".." in the path: refused (it could leave the image's root)`)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

func (u *Unpacker) entry(hdr *tar.Header, r io.Reader, inLayer map[string]bool) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	u.stats.Entries++
	if err := u.charge(entryCost, hdr.Name); err != nil {
		return err
	}
	if name == "" || hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // the root keeps its own mode; global headers carry no file
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(hdr.Name, dir, base, inLayer)
	}
	for p := name; p != "." && p != ""; p = path.Dir(p) {
		inLayer[p] = true
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		// A container gets its /dev from the runtime; nodes in the image
		// could only be a way to reach host devices.
		u.stats.Skipped++
		u.skipped[name] = true
		return nil
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		if hdr.Typeflag == tar.TypeRegA { // old archives still use it
			break
		}
		return fmt.Errorf("entry %q: unsupported tar entry type %q: refused", hdr.Name, hdr.Typeflag)
	}
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
		if hdr.Size < 0 {
			return fmt.Errorf("entry %q: negative size %d: refused", hdr.Name, hdr.Size)
		}
		if err := u.charge(hdr.Size, hdr.Name); err != nil {
			return err
		}
	}
	if len(hdr.Linkname) > maxNameLen {
		return fmt.Errorf("entry %q: link target longer than %d bytes: refused", hdr.Name, maxNameLen)
	}
	delete(u.skipped, name)

	pfd, err := resolveDir(u.rootFd, dir, true)
	if err != nil {
		return entryPathError(hdr.Name, err)
	}
	defer unix.Close(pfd)
	u.implicitParents(dir)

	st, exists, err := lstatAt(pfd, base)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if hdr.Typeflag == tar.TypeDir && isDir {
		// A directory again (a later layer, or listed twice): keep its
		// contents, take the new metadata.
		return u.dirEntry(pfd, base, name, hdr, false)
	}
	if exists {
		// Whatever was there is replaced, never written through: a file
		// is unlinked first, so a hardlink sharing its inode is not
		// changed and a symlink is not followed.
		if err := removeAllAt(pfd, base); err != nil {
			return fmt.Errorf("entry %q: replacing what a lower layer had: %w", hdr.Name, err)
		}
		u.forgetDirs(name)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dirEntry(pfd, base, name, hdr, true)
	case tar.TypeSymlink:
		// The target is stored as it is: the unpacker never follows it,
		// and in the container it resolves inside the container's root.
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if err := u.chown(pfd, base, hdr); err != nil {
			return err
		}
		return setTimes(pfd, base, hdr.ModTime)
	case tar.TypeLink:
		return u.hardlink(pfd, base, hdr)
	}
	return u.regular(pfd, base, hdr, r)
}

// charge counts n bytes against the bound.
func (u *Unpacker) charge(n int64, entry string) error {
	if n > u.opts.MaxBytes-u.stats.Bytes {
		return &LimitError{Limit: u.opts.MaxBytes, Entry: entry}
	}
	u.stats.Bytes += n
	return nil
}

// LimitError is an image bigger than the unpack bound.
type LimitError struct {
	Limit int64
	Entry string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("entry %q: the image is larger than the unpack limit of %s: "+
		"raise it with --max-unpack-size (Store.MaxUnpackBytes) if the image is trusted", e.Entry, formatBytes(e.Limit))
}

func entryPathError(entry string, err error) error {
	var pe *parentError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, errSymlinkParent):
			return fmt.Errorf("entry %q: %s is a symlink: refused (writing through a symlink could leave the image's root)", entry, pe.path)
		case errors.Is(err, errNotDirParent):
			return fmt.Errorf("entry %q: %s is not a directory", entry, pe.path)
		}
	}
	return fmt.Errorf("entry %q: %w", entry, err)
}

func (u *Unpacker) dirEntry(pfd int, base, name string, hdr *tar.Header, create bool) error {
	if create {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	if err := u.chown(pfd, base, hdr); err != nil {
		return err
	}
	// Directories keep setgid (new files inherit the group; it grants
	// nothing) and the sticky bit; they cannot be setuid in any useful way.
	u.dirs[name] = dirMeta{mode: uint32(hdr.Mode) & 0o7777 &^ unix.S_ISUID, mtime: hdr.ModTime}
	return nil
}

func (u *Unpacker) regular(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	// O_EXCL|O_NOFOLLOW: the name was just cleared; anything there now
	// is not ours to write into.
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if n, err := io.CopyN(f, r, hdr.Size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("entry %q: wrote %d of %d bytes: %w", hdr.Name, n, hdr.Size, err)
	}
	if u.opts.Chown {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("entry %q: chown: %w", hdr.Name, err)
		}
	}
	mode := uint32(hdr.Mode) & 0o7777
	if !u.opts.KeepSetuid && mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		mode &^= unix.S_ISUID | unix.S_ISGID
		u.stats.Stripped++
	}
	// After chown, which clears setuid bits.
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("entry %q: chmod: %w", hdr.Name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	return setTimes(pfd, base, hdr.ModTime)
}

func (u *Unpacker) hardlink(pfd int, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("entry %q: hardlink target %q: %w", hdr.Name, hdr.Linkname, err)
	}
	if target == "" {
		return fmt.Errorf("entry %q: hardlink to the root directory: refused", hdr.Name)
	}
	if u.skipped[target] {
		u.stats.Skipped++
		u.skipped[path.Clean(hdr.Name)] = true
		return nil
	}
	tdir, tbase := path.Split(target)
	tfd, err := resolveDir(u.rootFd, strings.TrimSuffix(tdir, "/"), false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("entry %q: hardlink target %q does not exist", hdr.Name, hdr.Linkname)
		}
		return entryPathError(hdr.Name+" (hardlink target)", err)
	}
	defer unix.Close(tfd)
	st, ok, err := lstatAt(tfd, tbase)
	switch {
	case err != nil:
		return fmt.Errorf("entry %q: hardlink target %q: %w", hdr.Name, hdr.Linkname, err)
	case !ok:
		return fmt.Errorf("entry %q: hardlink target %q does not exist", hdr.Name, hdr.Linkname)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return fmt.Errorf("entry %q: hardlink target %q is a directory: refused", hdr.Name, hdr.Linkname)
	}
	// Flags 0: a symlink target is linked itself, never followed.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("entry %q: hardlink to %q: %w", hdr.Name, hdr.Linkname, err)
	}
	return nil
}

func (u *Unpacker) chown(pfd int, base string, hdr *tar.Header) error {
	if !u.opts.Chown {
		return nil
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("entry %q: chown: %w", hdr.Name, err)
	}
	return nil
}

// whiteout applies .wh.NAME or .wh..wh..opq found in dir.
func (u *Unpacker) whiteout(entry, dir, base string, inLayer map[string]bool) error {
	if base == whiteoutOpaque {
		fd, err := resolveDir(u.rootFd, dir, true)
		if err != nil {
			return entryPathError(entry, err)
		}
		defer unix.Close(fd)
		u.implicitParents(dir)
		if err := removeChildren(fd, inLayer, dir); err != nil {
			return fmt.Errorf("entry %q: opaque whiteout: %w", entry, err)
		}
		for d := range u.dirs {
			if (dir == "" || strings.HasPrefix(d, dir+"/")) && !inLayer[d] {
				delete(u.dirs, d)
			}
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other aufs metadata (.wh..wh.plnk, ...): nothing to apply
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	if victim == "" || victim == "." || victim == ".." {
		return fmt.Errorf("entry %q: invalid whiteout: refused", entry)
	}
	fd, err := resolveDir(u.rootFd, dir, false)
	if errors.Is(err, unix.ENOENT) {
		return nil // nothing below to hide
	}
	if err != nil {
		return entryPathError(entry, err)
	}
	defer unix.Close(fd)
	if err := removeAllAt(fd, victim); err != nil {
		return fmt.Errorf("entry %q: whiteout: %w", entry, err)
	}
	u.forgetDirs(path.Join(dir, victim))
	return nil
}

// implicitParents gives the directories of dir that no entry described
// (resolveDir created them 0700) the usual 0755.
func (u *Unpacker) implicitParents(dir string) {
	for p := dir; p != "" && p != "."; p = path.Dir(p) {
		if _, ok := u.dirs[p]; !ok {
			u.dirs[p] = dirMeta{mode: 0o755}
		}
	}
}

// forgetDirs drops the pending metadata of name and everything below it.
func (u *Unpacker) forgetDirs(name string) {
	for d := range u.dirs {
		if d == name || strings.HasPrefix(d, name+"/") {
			delete(u.dirs, d)
		}
	}
}

// Finish gives every directory its final mode and mtime, deepest first
// (a parent made 0555 early would stop the rest).
func (u *Unpacker) Finish() error {
	names := make([]string, 0, len(u.dirs))
	for d := range u.dirs {
		names = append(names, d)
	}
	sort.Slice(names, func(i, j int) bool { return strings.Count(names[i], "/") > strings.Count(names[j], "/") })
	for _, name := range names {
		meta := u.dirs[name]
		dir, base := path.Split(name)
		pfd, err := resolveDir(u.rootFd, strings.TrimSuffix(dir, "/"), false)
		if err != nil {
			return entryPathError(name, err)
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == nil {
			err = unix.Fchmod(fd, meta.mode)
			unix.Close(fd)
		}
		if err == nil {
			err = setTimes(pfd, base, meta.mtime)
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("directory %q: %w", name, err)
		}
	}
	u.dirs = map[string]dirMeta{}
	return nil
}

// setTimes sets atime and mtime of name without following a symlink.
func setTimes(dirFd int, name string, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	if err := unix.UtimesNanoAt(dirFd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: setting times: %w", name, err)
	}
	return nil
}

// formatBytes renders n in binary units ("8GiB", "1.5MiB").
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + string("KMGTPE"[exp]) + "iB"
}
