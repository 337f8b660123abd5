package image

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Everything the unpacker does to the tree goes through a directory file
// descriptor and a single final name (mkdirat, openat, symlinkat, linkat,
// unlinkat), never through a path the kernel would resolve again. The
// directory fds come from resolveDir, which refuses any symlink on the way.
// So neither an entry of the image nor a symlink it planted earlier can
// make a write land outside the tree.

// useOpenat2 lets tests exercise the component-by-component walk that
// kernels older than 5.6 (no openat2) get.
var useOpenat2 = true

// errSymlinkParent and errNotDirParent explain why resolveDir refused.
var (
	errSymlinkParent = errors.New("is a symlink")
	errNotDirParent  = errors.New("is not a directory")
)

// parentError is resolveDir's refusal, naming the component at fault.
type parentError struct {
	path string // the offending prefix of the directory, relative to the root
	err  error
}

func (e *parentError) Error() string { return e.path + " " + e.err.Error() }
func (e *parentError) Unwrap() error { return e.err }

// resolveDir opens the directory rel (a clean, relative path; "" is the
// root) below rootFd, creating missing components (0700) when create is
// set. It refuses every symlink on the way instead of following it.
//
// We use openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|
// RESOLVE_NO_XDEV) rather than RESOLVE_IN_ROOT or filepath-securejoin:
// RESOLVE_IN_ROOT and securejoin *follow* a symlink, only clamped to the
// root, so "a -> /" then "a/etc/passwd" would quietly write the tree's
// etc/passwd, an entry the layer never named; no image built by docker,
// buildah or kaniko writes through a symlink (they record real paths), and
// doing so is exactly the shape of escape attempts, so refusing loudly is
// both safer and simpler to reason about. securejoin also resolves in user
// space and hands back a path to be resolved again (a race); openat2 does
// the whole walk in the kernel and returns an fd. Without openat2 (ENOSYS)
// the same policy is a walk with openat(O_NOFOLLOW) per component.
func resolveDir(rootFd int, rel string, create bool) (int, error) {
	if rel == "" || rel == "." {
		return unix.Openat(rootFd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if useOpenat2 {
		fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOENT) && create, errors.Is(err, unix.ENOSYS),
			errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EXDEV):
			// The walk creates what is missing and names the culprit.
		default:
			return -1, err
		}
	}
	return walkDir(rootFd, rel, create)
}

// walkDir is resolveDir one component at a time.
func walkDir(rootFd int, rel string, create bool) (int, error) {
	fd, err := unix.Openat(rootFd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		if part == "" || part == "." || part == ".." {
			unix.Close(fd)
			return -1, fmt.Errorf("invalid path %q", rel)
		}
		next, err := unix.Openat(fd, part, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, part, 0o700); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, part, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			}
		}
		if err != nil {
			prefix := strings.Join(parts[:i+1], "/")
			var st unix.Stat_t
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				if unix.Fstatat(fd, part, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
					err = errSymlinkParent
				} else {
					err = errNotDirParent
				}
			}
			unix.Close(fd)
			return -1, &parentError{path: prefix, err: err}
		}
		unix.Close(fd)
		fd = next
	}
	return fd, nil
}

// lstatAt is fstatat without following a final symlink; ok is false when
// nothing is there.
func lstatAt(dirFd int, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(dirFd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	return st, err == nil, err
}

// removeAllAt removes name (and, for a directory, everything below it)
// from dirFd without following symlinks. Directories are made 0700 first:
// a rootless caller owns the files but, without CAP_DAC_OVERRIDE, cannot
// list or empty a 0555 directory of the image otherwise.
func removeAllAt(dirFd int, name string) error {
	st, ok, err := lstatAt(dirFd, name)
	if err != nil || !ok {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return ignoreENOENT(unix.Unlinkat(dirFd, name, 0))
	}
	// name was a directory a moment ago, in a tree nobody else writes, so
	// fchmodat (which would follow a symlink) changes that directory.
	if st.Mode&0o700 != 0o700 {
		if err := unix.Fchmodat(dirFd, name, 0o700, 0); err != nil {
			return err
		}
	}
	fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	if err := removeChildren(fd, nil, ""); err != nil {
		unix.Close(fd)
		return err
	}
	unix.Close(fd)
	return ignoreENOENT(unix.Unlinkat(dirFd, name, unix.AT_REMOVEDIR))
}

// removeChildren empties the directory fd, except the paths in keep (and
// directories on the way to them, which it descends into). rel is fd's
// path relative to the root, the prefix of keep's keys.
func removeChildren(fd int, keep map[string]bool, rel string) error {
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := n
		if rel != "" {
			p = rel + "/" + n
		}
		if !keep[p] {
			if err := removeAllAt(fd, n); err != nil {
				return err
			}
			continue
		}
		st, ok, err := lstatAt(fd, n)
		if err != nil || !ok || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		err = removeChildren(sub, keep, p)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// readDirNames lists the directory fd (without consuming fd itself).
func readDirNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeTree removes the directory dir and everything in it (see
// removeAllAt for why not os.RemoveAll).
func removeTree(dir string) error {
	parent, base := splitDir(dir)
	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer unix.Close(pfd)
	if err := removeAllAt(pfd, base); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// splitDir splits an absolute or relative path into its directory and
// last element.
func splitDir(p string) (dir, base string) {
	p = strings.TrimRight(p, "/")
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return ".", p
	case i == 0:
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

func ignoreENOENT(err error) error {
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
