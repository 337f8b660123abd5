package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// Rootfs returns the image's unpacked tree, unpacking it on first use.
// The tree is shared by every container of the image (and of any image
// with the same layers): mount it read-only, never write to it. A caller
// that keeps using the tree (a running container) should use Use instead,
// so that rmi does not remove it underneath.
func (s *Store) Rootfs(img *Image) (string, error) {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.rootfs(img)
}

// Use is Rootfs for the lifetime of a container: until release is
// called, garbage collection (rmi) leaves the tree alone.
func (s *Store) Use(img *Image) (dir string, release func(), err error) {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	dir, err = s.rootfs(img)
	if err != nil {
		return "", nil, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		unix.Close(fd)
		return "", nil, fmt.Errorf("%s: %w", dir, err)
	}
	return dir, func() { unix.Close(fd) }, nil
}

// rootfsName is the tree's directory name: the chain ID, and whether
// setuid bits were kept (a profile allowing them must not get a tree
// unpacked without, nor the other way round).
func (s *Store) rootfsName(img *Image) (string, error) {
	id, err := chainID(img.DiffIDs)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", displayRef(img), err)
	}
	if s.KeepSetuid {
		return id + "-setuid", nil
	}
	return id, nil
}

// rootfs runs under the store lock, shared.
func (s *Store) rootfs(img *Image) (string, error) {
	if len(img.Layers) != len(img.DiffIDs) {
		return "", fmt.Errorf("image %s: %d layers but %d diff IDs: remove it (safe-run rmi) and pull it again", displayRef(img), len(img.Layers), len(img.DiffIDs))
	}
	base, err := s.rootfsName(img)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.Dir, rootfsDir, base)
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		return dir, nil // complete: trees appear only by rename
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.Dir, tmpDir), "rootfs-")
	if err != nil {
		return "", err
	}
	defer removeTree(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if _, err := s.unpack(img, tmp); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", displayRef(img), err)
	}
	// RENAME_NOREPLACE: if a concurrent safe-run won the race, its tree
	// (identical, by construction) stays and ours goes.
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
	if err != nil && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
		return "", fmt.Errorf("installing the unpacked tree: %w", err)
	}
	return dir, nil
}

// unpack applies img's layers to dir, checking each layer's uncompressed
// stream against its diff ID.
func (s *Store) unpack(img *Image, dir string) (UnpackStats, error) {
	u, err := NewUnpacker(dir, UnpackOptions{
		MaxBytes:   s.maxBytes(),
		KeepSetuid: s.KeepSetuid,
		// Only root can give files away; see UnpackOptions.Chown.
		Chown: os.Geteuid() == 0,
	})
	if err != nil {
		return UnpackStats{}, err
	}
	defer u.Close()
	for i, layer := range img.Layers {
		if err := s.unpackLayer(u, layer, img.DiffIDs[i]); err != nil {
			return u.Stats(), err
		}
	}
	if err := u.Finish(); err != nil {
		return u.Stats(), err
	}
	return u.Stats(), nil
}

func (s *Store) unpackLayer(u *Unpacker, layer, diffID string) error {
	p, err := s.blobPath(layer)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("layer %s: %w (the store is damaged: safe-run rmi the image and pull it again)", layer, err)
	}
	defer f.Close()
	r, closeR, err := decompress(f)
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer, err)
	}
	defer closeR()
	h := sha256.New()
	if err := u.Layer(io.TeeReader(r, h)); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return &DigestError{What: "uncompressed layer " + layer, Want: diffID, Got: got}
	}
	return nil
}

// decompress returns the tar stream inside a layer blob: gzip and zstd
// (the OCI media types) are recognised by their magic numbers, anything
// else is read as a plain tar.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// Bounded window and one goroutine: a hostile frame cannot
		// make the decoder allocate gigabytes.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
