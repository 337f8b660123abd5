package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LoadOptions are a load's options.
type LoadOptions struct {
	// VerifySHA256 ("sha256:<64 hex>") pins the file: it is hashed before
	// anything in it is read, and refused unless the hash matches.
	VerifySHA256 string
	// Tag names the image in the store instead of the name the archive
	// records (RepoTags, or the OCI ref.name annotation).
	Tag string
}

// Kinds of archive Load reads.
const (
	kindDockerArchive = "docker-archive"
	kindOCILayout     = "oci-layout"
)

// Load adds the image in path: a `docker save` archive (docker-archive),
// an OCI image layout directory, or a tar of one. Which it is is told by
// the content (manifest.json, oci-layout), not the file name. Every blob
// is checked against its digest as it is stored.
func (s *Store) Load(ctx context.Context, p string, opts LoadOptions) (*Image, error) {
	var want string
	if opts.VerifySHA256 != "" {
		h, err := v1.NewHash(opts.VerifySHA256)
		if err != nil || h.Algorithm != "sha256" {
			return nil, fmt.Errorf("--verify %q: expected sha256:<64 hex digits>, as printed by sha256sum", opts.VerifySHA256)
		}
		want = h.String()
	}
	var tag string
	if opts.Tag != "" {
		r, err := name.ParseReference(opts.Tag)
		if err != nil {
			return nil, fmt.Errorf("--tag %q: %v", opts.Tag, err)
		}
		tag = r.Name()
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	return s.adding(func() (*Image, error) {
		if fi.IsDir() {
			if want != "" {
				return nil, fmt.Errorf("%s is a directory: --verify pins a file (tar the layout, or rely on the digests inside it)", p)
			}
			return s.loadLayout(ctx, p, p, tag)
		}
		file := p
		if want != "" {
			// Hash a private copy and read only the copy: hashing the
			// file and then reading it again would let whoever can
			// write it swap the content in between.
			tmp, err := s.storeTemp("load-")
			if err != nil {
				return nil, err
			}
			defer removeTree(tmp)
			file = filepath.Join(tmp, "archive")
			got, err := copyHashed(p, file)
			if err != nil {
				return nil, err
			}
			if got != want {
				return nil, fmt.Errorf("%s: sha256 is %s, not %s as pinned with --verify: refused", p, got, want)
			}
		}
		kind, err := archiveKind(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if kind == kindDockerArchive {
			return s.loadDockerArchive(ctx, file, p, tag)
		}
		tmp, err := s.storeTemp("layout-")
		if err != nil {
			return nil, err
		}
		defer removeTree(tmp)
		if err := s.extractLayout(file, tmp); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return s.loadLayout(ctx, tmp, p, tag)
	})
}

// copyHashed copies src to a new file dst and returns src's digest.
func copyHashed(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return "", fmt.Errorf("reading %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// archiveKind tells a docker-archive (manifest.json at the top; docker
// 25+ archives, which are OCI layouts too, count as docker-archives) from
// an OCI layout tar (oci-layout at the top).
func archiveKind(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(4); bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) || bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		return "", errors.New("compressed: decompress it first (gunzip / unzstd), then load the tar")
	}
	tr := tar.NewReader(br)
	oci := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not a tar archive of an image (docker save or OCI layout): %v", err)
		}
		switch path.Clean(hdr.Name) {
		case "manifest.json":
			return kindDockerArchive, nil
		case "oci-layout":
			oci = true
		}
	}
	if oci {
		return kindOCILayout, nil
	}
	return "", errors.New("neither a docker-archive (no manifest.json) nor an OCI image layout (no oci-layout file)")
}

func (s *Store) loadDockerArchive(ctx context.Context, file, what, tag string) (*Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(file) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%s: reading manifest.json: %w", what, err)
	}
	if len(manifest) != 1 {
		return nil, fmt.Errorf("%s holds %d images: load takes an archive of one (docker save IMAGE)", what, len(manifest))
	}
	ref := tag
	if ref == "" && len(manifest[0].RepoTags) > 0 {
		if r, err := name.ParseReference(manifest[0].RepoTags[0]); err == nil {
			ref = r.Name()
		}
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s.add(ctx, source{kind: kindDockerArchive, ref: ref, what: what, img: img, byDiffID: true})
}

// isBlobName is what extractLayout accepts under blobs/:
// blobs/sha256/<64 hex> or blobs/sha512/<128 hex>. (No regexp: package
// initialisation is paid by every safe-run start.)
func isBlobName(n string) bool {
	hexPart, ok := strings.CutPrefix(n, "blobs/sha256/")
	want := 64
	if !ok {
		hexPart, ok = strings.CutPrefix(n, "blobs/sha512/")
		want = 128
	}
	if !ok || len(hexPart) != want {
		return false
	}
	for _, c := range hexPart {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// extractLayout copies an OCI layout tar's oci-layout, index.json and
// blobs into dir. It writes nothing else: only those three kinds of name,
// only regular files, each created fresh, bounded in total size.
func (s *Store) extractLayout(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha512"), 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if hdr.Typeflag != tar.TypeReg || !(n == "oci-layout" || n == "index.json" || isBlobName(n)) {
			continue
		}
		if total += hdr.Size; hdr.Size < 0 || total > s.maxBytes() {
			return &LimitError{Limit: s.maxBytes(), Entry: hdr.Name}
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(n)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		_, err = io.CopyN(out, tr, hdr.Size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// Annotations naming an image in an OCI layout's index.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

// loadLayout adds the image of the OCI layout in dir: the only image in
// it for this machine's platform (nested indexes are followed).
func (s *Store) loadLayout(ctx context.Context, dir, what, tag string) (*Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: not an OCI image layout: %w", what, err)
	}
	var images []found
	if err := findImages(idx, nil, &images, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	switch len(images) {
	case 0:
		return nil, fmt.Errorf("%s: no image for linux/%s in the layout", what, runtime.GOARCH)
	case 1:
	default:
		return nil, fmt.Errorf("%s: %d images for linux/%s in the layout: load takes a layout of one", what, len(images), runtime.GOARCH)
	}
	desc := images[0].desc
	img, err := images[0].index.Image(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != desc.Digest {
		return nil, &DigestError{What: "manifest of " + what, Want: desc.Digest.String(), Got: got.String()}
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	ref := tag
	if ref == "" {
		ref = layoutRefName(desc.Annotations)
	}
	return s.add(ctx, source{kind: kindOCILayout, ref: ref, digest: desc.Digest.String(), what: what, img: img, config: m.Config.Digest})
}

type found struct {
	index v1.ImageIndex
	desc  v1.Descriptor
}

// findImages collects the image manifests of idx for this platform (or
// with no platform given).
func findImages(idx v1.ImageIndex, parent *v1.Descriptor, out *[]found, depth int) error {
	if depth > 4 {
		return errors.New("image indexes nested too deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && (d.Platform.OS != "linux" || d.Platform.Architecture != runtime.GOARCH) {
			continue
		}
		if d.Annotations == nil && parent != nil {
			d.Annotations = parent.Annotations // a tagged index names its children
		}
		switch d.MediaType {
		case types.OCIImageIndex, types.DockerManifestList:
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := findImages(child, &d, out, depth+1); err != nil {
				return err
			}
		case types.OCIManifestSchema1, types.DockerManifestSchema2:
			*out = append(*out, found{index: idx, desc: d})
		}
	}
	return nil
}

// layoutRefName is the image's name from its index annotations:
// containerd's (and docker 25's) full name, or ref.name when it is a full
// reference rather than a bare tag.
func layoutRefName(ann map[string]string) string {
	for _, a := range []string{annotationContainerdRef, annotationRefName} {
		v := ann[a]
		if v == "" || (a == annotationRefName && !strings.ContainsAny(v, "/:")) {
			continue
		}
		if r, err := name.ParseReference(v); err == nil {
			return r.Name()
		}
	}
	return ""
}
