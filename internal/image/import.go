package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// source is an image on its way into the store.
type source struct {
	kind   string // Image.Source
	ref    string // normalized reference, or ""
	digest string // Image.Digest
	what   string // how messages name it: the reference or the file
	img    v1.Image
	// config is the config digest from the manifest, when there is one
	// (go-containerregistry would fetch the config to tell it).
	config v1.Hash
	// byDiffID stores layers uncompressed, named by diff ID (a
	// docker-archive: its layers are usually plain tars and it has no
	// compressed digests to name them by).
	byDiffID bool
}

// adding runs f, which adds an image, under the store lock (shared), and
// on failure collects what f stored before failing. The collection takes
// the lock exclusively, so it waits for other adds in progress and never
// removes what they need.
func (s *Store) adding(f func() (*Image, error)) (*Image, error) {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	img, err := f()
	unlock()
	if err != nil {
		_ = s.GC()
		return nil, err
	}
	return img, nil
}

// add stores src's blobs (each checked against its digest, none fetched
// twice), unpacks its tree, and records it. It unpacks before recording,
// so that an image that cannot be unpacked safely never appears in the
// store. It runs inside adding.
func (s *Store) add(ctx context.Context, src source) (*Image, error) {
	cfgName := src.config
	if cfgName == (v1.Hash{}) {
		var err error
		if cfgName, err = src.img.ConfigName(); err != nil {
			return nil, fmt.Errorf("%s: %w", src.what, err)
		}
	}
	// A stored config is not fetched again (it is checked all the same).
	raw, err := s.readBlob(cfgName.String())
	if err != nil {
		if raw, err = src.img.RawConfigFile(); err != nil {
			return nil, fmt.Errorf("%s: reading the image config: %w", src.what, err)
		}
	}
	sum := sha256.Sum256(raw)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != cfgName.String() {
		return nil, &DigestError{What: "config of " + src.what, Want: cfgName.String(), Got: got}
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid image config: %w", src.what, err)
	}
	if err := checkPlatform(cfg, src.what); err != nil {
		return nil, err
	}
	layers, err := src.img.Layers()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.what, err)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("%s: the image has no layers", src.what)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%s: %d layers but the config lists %d diff IDs: invalid image", src.what, len(layers), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{
		Ref:          src.ref,
		Digest:       src.digest,
		ConfigDigest: cfgName.String(),
		Config:       imageConfig(cfg.Config),
		Created:      cfg.Created.Time.UTC(),
		Stored:       time.Now().UTC().Truncate(time.Second),
		Source:       src.kind,
	}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diffID := cfg.RootFS.DiffIDs[i].String()
		digest, open, size := diffID, l.Uncompressed, int64(-1)
		if !src.byDiffID {
			h, err := l.Digest()
			if err != nil {
				return nil, fmt.Errorf("%s: layer %d: %w", src.what, i+1, err)
			}
			digest, open = h.String(), l.Compressed
			if n, err := l.Size(); err == nil {
				size = n
			}
		}
		n, err := s.addBlob(digest, open, size, fmt.Sprintf("layer %s of %s", digest, src.what))
		if err != nil {
			return nil, err
		}
		img.Layers = append(img.Layers, digest)
		img.DiffIDs = append(img.DiffIDs, diffID)
		img.Size += n.size
		img.Fetched += n.fetched
	}
	if _, ok := s.hasBlob(img.ConfigDigest); !ok {
		if _, err := s.writeBlob(img.ConfigDigest, bytes.NewReader(raw), int64(len(raw)), "config of "+src.what); err != nil {
			return nil, err
		}
		img.Fetched += int64(len(raw))
	}
	if img.Digest == "" {
		img.Digest = img.ConfigDigest
	}
	if _, err := s.rootfs(img); err != nil {
		return nil, err
	}
	if err := s.writeRecord(img); err != nil {
		return nil, fmt.Errorf("recording %s: %w", src.what, err)
	}
	return img, nil
}

// readBlob reads a small stored blob (a config).
func (s *Store) readBlob(digest string) ([]byte, error) {
	p, err := s.blobPath(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxConfigSize))
}

// maxConfigSize bounds an image config read from the store.
const maxConfigSize = 8 << 20

type blobAdded struct{ size, fetched int64 }

// addBlob stores a blob unless it is already there (dedup by digest).
func (s *Store) addBlob(digest string, open func() (io.ReadCloser, error), size int64, what string) (blobAdded, error) {
	if n, ok := s.hasBlob(digest); ok {
		return blobAdded{size: n}, nil
	}
	rc, err := open()
	if err != nil {
		return blobAdded{}, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	n, err := s.writeBlob(digest, rc, size, what)
	if err != nil {
		return blobAdded{}, err
	}
	return blobAdded{size: n, fetched: n}, nil
}

// checkPlatform refuses an image built for another OS or architecture
// (an empty field, as some hand-made images have, is accepted).
func checkPlatform(cfg *v1.ConfigFile, what string) error {
	if cfg.OS != "" && cfg.OS != "linux" {
		return fmt.Errorf("%s is an image for %s, not linux", what, cfg.OS)
	}
	if cfg.Architecture != "" && cfg.Architecture != runtime.GOARCH {
		return fmt.Errorf("%s is an image for %s/%s; this machine runs linux/%s: pull or load the %s variant",
			what, cfg.OS, cfg.Architecture, runtime.GOARCH, runtime.GOARCH)
	}
	return nil
}

func imageConfig(c v1.Config) ImageConfig {
	ic := ImageConfig{
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		Env:        c.Env,
		WorkingDir: c.WorkingDir,
		User:       c.User,
	}
	for p := range c.ExposedPorts {
		ic.ExposedPorts = append(ic.ExposedPorts, p)
	}
	sort.Strings(ic.ExposedPorts)
	return ic
}

// storeTemp makes a private temporary directory in the store's tmp/ (on
// the store's filesystem, collected by GC if we die). Call it inside
// adding: GC removes all of tmp/.
func (s *Store) storeTemp(pattern string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.Dir, tmpDir), pattern)
}
