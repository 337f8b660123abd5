// Package image is safe-run's source of root filesystems from container
// images: it pulls them from registries (go-containerregistry, auth from
// ~/.docker/config.json), loads `docker save` archives and OCI image
// layouts, keeps them in a content-addressed store, and unpacks each
// image's layer chain once, safely (see Unpacker), into a tree that every
// container of that image then uses read-only.
//
// Store layout, under Store.Dir:
//
//	blobs/sha256/<hex>     layers and configs, named by the digest of their bytes
//	images/<key>.json      one record per reference (key: sha256 of the reference)
//	rootfs/<chain-id>/     the unpacked tree of a layer chain ("…-setuid": bits kept)
//	tmp/                   downloads and unpacks in progress (renamed into place)
//	lock                   flock: shared while adding, exclusive to collect garbage
//
// Nothing is ever modified in place: a blob is written to tmp/, its digest
// checked, then renamed; a tree is unpacked in tmp/ and renamed; a record
// is replaced by rename. So a crash leaves only tmp/ debris, which the
// next garbage collection removes.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Store is an image store rooted at Dir.
type Store struct {
	// Dir is the store's root (see DefaultDir).
	Dir string
	// MaxUnpackBytes bounds what unpacking one image may write, and what
	// one pull or load may download (0: DefaultMaxUnpackBytes).
	MaxUnpackBytes int64
	// KeepSetuid keeps setuid/setgid bits when unpacking (a profile that
	// allows them); such trees are kept apart from stripped ones.
	KeepSetuid bool
	// Progress, when set, receives a progress bar for each download
	// (the CLI sets it to stderr when stderr is a terminal).
	Progress io.Writer
}

// Image is one stored image.
type Image struct {
	// Ref is the normalized reference ("index.docker.io/library/busybox:1.36",
	// "127.0.0.1:5000/app@sha256:…"); "" for a loaded image without a name.
	Ref string `json:"ref"`
	// Digest is the manifest digest: what `repo@DIGEST` pulls. For a
	// docker-archive, which has no manifest, the config digest (docker's
	// image ID).
	Digest       string      `json:"digest"`
	ConfigDigest string      `json:"config_digest"`
	Config       ImageConfig `json:"config"`
	// Layers are the layer blobs in the store, bottom first; DiffIDs the
	// digests of their uncompressed tar streams (what unpacking checks).
	Layers  []string `json:"layers"`
	DiffIDs []string `json:"diff_ids"`
	// Size is the layer blobs' size as stored (compressed when pulled).
	Size int64 `json:"size"`
	// Created is the image's own creation time, from its config.
	Created time.Time `json:"created,omitzero"`
	// Stored is when it entered the store.
	Stored time.Time `json:"stored"`
	// Source is "registry", "docker-archive" or "oci-layout".
	Source string `json:"source"`
	// Fetched is what this Pull or Load added to the store (bytes of
	// blobs not already present); 0 means every blob was there.
	Fetched int64 `json:"-"`
}

// ImageConfig is the part of the image's config a run honours.
type ImageConfig struct {
	Entrypoint   []string `json:"entrypoint,omitempty"`
	Cmd          []string `json:"cmd,omitempty"`
	Env          []string `json:"env,omitempty"`
	WorkingDir   string   `json:"working_dir,omitempty"`
	User         string   `json:"user,omitempty"`
	ExposedPorts []string `json:"exposed_ports,omitempty"` // "80/tcp", sorted
}

// DefaultDir is the store's default root: /var/lib/safe-run as root,
// $XDG_DATA_HOME/safe-run (or ~/.local/share/safe-run) otherwise.
func DefaultDir(uid int, xdgDataHome, home string) string {
	switch {
	case uid == 0:
		return "/var/lib/safe-run"
	case xdgDataHome != "":
		return filepath.Join(xdgDataHome, "safe-run")
	case home != "":
		return filepath.Join(home, ".local", "share", "safe-run")
	}
	return fmt.Sprintf("/tmp/safe-run-data-%d", uid)
}

// Subdirectories of the store.
const (
	blobsDir  = "blobs/sha256"
	imagesDir = "images"
	rootfsDir = "rootfs"
	tmpDir    = "tmp"
	lockFile  = "lock"
)

func (s *Store) maxBytes() int64 {
	if s.MaxUnpackBytes > 0 {
		return s.MaxUnpackBytes
	}
	return DefaultMaxUnpackBytes
}

// open creates (or checks) the store: a real directory owned by the
// caller and writable by nobody else, since what is unpacked there
// becomes containers' root filesystems.
func (s *Store) open() error {
	if s.Dir == "" {
		return errors.New("image store: no directory given")
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("image store %s: %w (set --data-dir or SAFE_RUN_DATA_DIR to a writable directory)", s.Dir, err)
	}
	fi, err := os.Lstat(s.Dir)
	if err != nil {
		return fmt.Errorf("image store %s: %w", s.Dir, err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("image store %s is not a directory (a symlink?): remove it or set --data-dir", s.Dir)
	case st != nil && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("image store %s belongs to uid %d, not to you: remove it or set --data-dir", s.Dir, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("image store %s is writable by others (mode %o): chmod 700 it", s.Dir, fi.Mode().Perm())
	}
	for _, sub := range []string{"blobs", blobsDir, imagesDir, rootfsDir, tmpDir} {
		if err := os.Mkdir(filepath.Join(s.Dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("image store: %w", err)
		}
	}
	return nil
}

// lock takes the store lock (unix.LOCK_SH or LOCK_EX) and returns its
// release. Adding images takes it shared (adds never conflict: every
// write is a rename of a complete file); garbage collection exclusive,
// so that it never removes a blob a pull has stored but not recorded yet.
func (s *Store) lock(how int) (func(), error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, lockFile), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return func() { f.Close() }, nil
}

func (s *Store) blobPath(digest string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil || h.Algorithm != "sha256" {
		return "", fmt.Errorf("invalid blob digest %q", digest)
	}
	return filepath.Join(s.Dir, blobsDir, h.Hex), nil
}

// hasBlob reports whether the blob is stored (and its size).
func (s *Store) hasBlob(digest string) (int64, bool) {
	p, err := s.blobPath(digest)
	if err != nil {
		return 0, false
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Size(), true
}

// DigestError is content whose digest is not the one it was asked for.
type DigestError struct {
	What      string // "layer sha256:… of REF", "config of …"
	Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: digest mismatch: expected %s, got content with %s (corrupted or tampered with at the source): nothing was stored", e.What, e.Want, e.Got)
}

// progressMin is the smallest blob that gets a progress bar (configs do
// not; layers of unknown size, -1, do).
const progressMin = 64 << 10

// writeBlob stores r's bytes as blob digest, after checking that they
// hash to it. MaxUnpackBytes bounds the bytes read.
func (s *Store) writeBlob(digest string, r io.Reader, size int64, what string) (int64, error) {
	dst, err := s.blobPath(digest)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Join(s.Dir, tmpDir), "blob-")
	if err != nil {
		return 0, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha256.New()
	var w io.Writer = io.MultiWriter(f, h)
	if s.Progress != nil && (size < 0 || size >= progressMin) {
		bar := newProgressBar(s.Progress, shortDigest(digest), size)
		defer bar.finish()
		w = io.MultiWriter(w, bar)
	}
	limit := s.maxBytes()
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		if strings.Contains(err.Error(), "error verifying") {
			// go-containerregistry's own check (digest or size) fired
			// first; say it in the same words as ours.
			return n, fmt.Errorf("%s: digest mismatch: %v (corrupted or tampered with at the source): nothing was stored", what, err)
		}
		return n, fmt.Errorf("%s: %w", what, err)
	}
	if n > limit {
		return n, fmt.Errorf("%s is larger than the limit of %s: raise it with --max-unpack-size (Store.MaxUnpackBytes) if the image is trusted", what, formatBytes(limit))
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return n, &DigestError{What: what, Want: digest, Got: got}
	}
	if err := f.Chmod(0o400); err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return n, err
	}
	return n, nil
}

// recordPath is where the record of ref (or, untagged, of digest) lives.
func (s *Store) recordPath(ref, digest string) string {
	key := ref
	if key == "" {
		key = "@" + digest
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.Dir, imagesDir, hex.EncodeToString(sum[:])+".json")
}

func (s *Store) writeRecord(img *Image) error {
	data, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Join(s.Dir, tmpDir), "record-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.recordPath(img.Ref, img.Digest))
}

func readRecord(p string) (*Image, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var img Image
	if err := json.Unmarshal(data, &img); err != nil {
		return nil, fmt.Errorf("image record %s: %w", p, err)
	}
	return &img, nil
}

// List returns every stored image, sorted by reference.
func (s *Store) List() ([]*Image, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, imagesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	var out []*Image
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		img, err := readRecord(filepath.Join(s.Dir, imagesDir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ref != out[j].Ref {
			return out[i].Ref < out[j].Ref
		}
		return out[i].Digest < out[j].Digest
	})
	return out, nil
}

// NotFoundError is a reference the store does not hold.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("image %q is not in the store: pull or load it first (safe-run images lists the store)", e.Ref)
}

// Get finds a stored image by reference ("busybox", "host/repo:tag",
// "repo@sha256:…") or by digest ("sha256:…", or at least 12 hex digits
// of it) when exactly one image has it.
func (s *Store) Get(ref string) (*Image, error) {
	if isDigestLike(ref) {
		return s.byDigest(ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %v", ref, err)
	}
	img, err := readRecord(s.recordPath(r.Name(), ""))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Ref: ref}
	}
	return img, err
}

// isDigestLike: "sha256:HEX…" or a bare hex string of 12+ digits.
func isDigestLike(s string) bool {
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) < 12 || len(h) > 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) byDigest(d string) (*Image, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	prefix := "sha256:" + strings.TrimPrefix(d, "sha256:")
	var found []*Image
	for _, img := range all {
		if strings.HasPrefix(img.Digest, prefix) {
			found = append(found, img)
		}
	}
	switch len(found) {
	case 0:
		return nil, &NotFoundError{Ref: d}
	case 1:
		return found[0], nil
	}
	var refs []string
	for _, img := range found {
		refs = append(refs, displayRef(img))
	}
	return nil, fmt.Errorf("digest %s names %d stored references (%s): name one of them", d, len(found), strings.Join(refs, ", "))
}

func displayRef(img *Image) string {
	if img.Ref == "" {
		return "<none>@" + img.Digest
	}
	return img.Ref
}

// Remove forgets ref (see Get for the forms; a digest removes every
// reference to it) and collects the blobs and trees nothing references
// any more. A tree in use by a container (Use) is left for a later
// collection.
func (s *Store) Remove(ref string) error {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	var victims []*Image
	if isDigestLike(ref) {
		all, err := s.List()
		if err != nil {
			return err
		}
		prefix := "sha256:" + strings.TrimPrefix(ref, "sha256:")
		for _, img := range all {
			if strings.HasPrefix(img.Digest, prefix) {
				victims = append(victims, img)
			}
		}
		if len(victims) == 0 {
			return &NotFoundError{Ref: ref}
		}
	} else {
		img, err := s.Get(ref)
		if err != nil {
			return err
		}
		victims = []*Image{img}
	}
	for _, img := range victims {
		if err := os.Remove(s.recordPath(img.Ref, img.Digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", displayRef(img), err)
		}
	}
	return s.gc()
}

// GC removes blobs and unpacked trees that no stored image references,
// and debris of interrupted pulls. It waits for pulls and loads in
// progress to finish.
func (s *Store) GC() error {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	return s.gc()
}

// gc runs under the exclusive lock.
func (s *Store) gc() error {
	images, err := s.List()
	if err != nil {
		return err
	}
	blobs := map[string]bool{}
	chains := map[string]bool{}
	for _, img := range images {
		blobs[img.ConfigDigest] = true
		for _, l := range img.Layers {
			blobs[l] = true
		}
		if id, err := chainID(img.DiffIDs); err == nil {
			chains[id] = true
		}
	}
	var errs []error
	entries, _ := os.ReadDir(filepath.Join(s.Dir, blobsDir))
	for _, e := range entries {
		if !blobs["sha256:"+e.Name()] {
			if err := os.Remove(filepath.Join(s.Dir, blobsDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	entries, _ = os.ReadDir(filepath.Join(s.Dir, rootfsDir))
	for _, e := range entries {
		id, _, _ := strings.Cut(e.Name(), "-")
		if chains[id] {
			continue
		}
		if err := s.removeUnusedTree(filepath.Join(s.Dir, rootfsDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	// Nobody adds while we hold the lock exclusively: all of tmp/ is
	// debris of interrupted pulls and loads.
	entries, _ = os.ReadDir(filepath.Join(s.Dir, tmpDir))
	for _, e := range entries {
		if err := removeTree(filepath.Join(s.Dir, tmpDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeUnusedTree removes an unpacked tree unless a container holds it
// (Use's shared flock on the directory).
func (s *Store) removeUnusedTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // in use: a later collection takes it
	}
	// Out of rootfs/ first, so that a half-removed tree is never taken
	// for a complete one.
	doomed, err := os.MkdirTemp(filepath.Join(s.Dir, tmpDir), "doomed-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(doomed, "tree")); err != nil {
		return err
	}
	return removeTree(doomed)
}

// chainID is the OCI ChainID of a layer stack: it names what the stack
// unpacks to, whatever the compression and the source.
func chainID(diffIDs []string) (string, error) {
	if len(diffIDs) == 0 {
		return "", errors.New("image has no layers")
	}
	id := diffIDs[0]
	for _, d := range diffIDs[1:] {
		sum := sha256.Sum256([]byte(id + " " + d))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	h, err := v1.NewHash(id)
	if err != nil {
		return "", fmt.Errorf("invalid diff ID in %v: %v", diffIDs, err)
	}
	return h.Hex, nil
}

func shortDigest(d string) string {
	h := strings.TrimPrefix(d, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}
