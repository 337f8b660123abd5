package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullOptions are a pull's trust requirements.
type PullOptions struct {
	// RequireDigest refuses a reference not pinned by digest
	// (REPO@sha256:…): a tag can be moved to other content.
	RequireDigest bool
	// RequireFullyQualified refuses a reference without a registry host
	// ("busybox" silently means docker.io/library/busybox: no bare pulls).
	RequireFullyQualified bool
	// InsecureRegistries are the registry hosts (HOST[:PORT], exactly as
	// in the reference) reached over plain HTTP. Every other registry is
	// reached over HTTPS only, including loopback and private-network
	// addresses, which go-containerregistry alone would reach over plain
	// HTTP without being asked: a plain-HTTP registry is a choice the
	// user makes per host (--insecure-registry HOST).
	InsecureRegistries []string
}

// ParseReference checks ref against opts and normalizes it
// ("busybox" → "index.docker.io/library/busybox:latest").
func ParseReference(ref string, opts PullOptions) (name.Reference, error) {
	if ref == "" {
		return nil, errors.New("no image reference given")
	}
	if opts.RequireFullyQualified && !FullyQualified(ref) {
		return nil, fmt.Errorf("%q names no registry, and fully qualified references are required (no bare pulls): write it with its registry, e.g. docker.io/%s", ref, dockerHubPath(ref))
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %v", ref, err)
	}
	if slices.Contains(opts.InsecureRegistries, r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, fmt.Errorf("invalid image reference %q: %v", ref, err)
		}
	}
	if t, ok := r.(name.Tag); opts.RequireDigest && ok {
		repo := strings.TrimSuffix(ref, ":"+t.TagStr())
		return nil, fmt.Errorf("%q is not pinned by digest, and digest pinning is required: write it as %s@sha256:<digest> (safe-run pull prints the digest)", ref, repo)
	}
	return r, nil
}

// dockerHubPath is ref's path on Docker Hub ("busybox" → "library/busybox").
func dockerHubPath(ref string) string {
	if strings.Contains(ref, "/") {
		return ref
	}
	return "library/" + ref
}

// FullyQualified reports whether ref names its registry, by docker's rule:
// the first path component is a host if it has a dot or a port, or is
// localhost.
func FullyQualified(ref string) bool {
	host, _, ok := strings.Cut(ref, "/")
	return ok && (strings.ContainsAny(host, ".:") || host == "localhost")
}

// Pull fetches ref from its registry, with credentials from the docker
// config (~/.docker/config.json or $DOCKER_CONFIG, credential helpers
// included), for this machine's platform. Blobs already in the store are
// not fetched again; every fetched blob is checked against its digest
// before it is stored. A reference pinned by digest that is already
// stored is served without contacting the registry.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := ParseReference(ref, opts)
	if err != nil {
		return nil, err
	}
	return s.adding(func() (*Image, error) {
		if _, pinned := r.(name.Digest); pinned {
			if img, err := s.Get(r.Name()); err == nil && s.complete(img) {
				if _, err := s.rootfs(img); err == nil {
					return img, nil
				}
			}
		}
		insecure := map[string]bool{}
		for _, h := range opts.InsecureRegistries {
			insecure[h] = true
		}
		rimg, err := remote.Image(r,
			remote.WithContext(ctx),
			remote.WithAuthFromKeychain(authn.DefaultKeychain),
			remote.WithTransport(&schemeGuard{base: remote.DefaultTransport, insecure: insecure}),
			remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
		)
		if err != nil {
			return nil, pullError(r, err)
		}
		digest, err := rimg.Digest()
		if err != nil {
			return nil, pullError(r, err)
		}
		m, err := rimg.Manifest()
		if err != nil {
			return nil, pullError(r, err)
		}
		// Sizes come from the manifest, which the digest covers: refuse
		// an image too big before fetching any of it.
		total := m.Config.Size
		for _, l := range m.Layers {
			total += l.Size
		}
		if total > s.maxBytes() {
			return nil, fmt.Errorf("%s is %s compressed, more than the limit of %s: raise it with --max-unpack-size (Store.MaxUnpackBytes) if the image is trusted",
				r.Name(), formatBytes(total), formatBytes(s.maxBytes()))
		}
		img, err := s.add(ctx, source{kind: "registry", ref: r.Name(), digest: digest.String(), what: r.Name(), img: rimg, config: m.Config.Digest})
		if err != nil {
			return nil, pullError(r, err)
		}
		return img, nil
	})
}

// complete reports whether every blob of img is stored.
func (s *Store) complete(img *Image) bool {
	for _, d := range append([]string{img.ConfigDigest}, img.Layers...) {
		if _, ok := s.hasBlob(d); !ok {
			return false
		}
	}
	return true
}

// pullError adds the fix to the registry errors users can act on.
func pullError(r name.Reference, err error) error {
	msg := err.Error()
	host := r.Context().RegistryStr()
	switch {
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("pulling %s: %w (the registry %s speaks plain HTTP: pass --insecure-registry %s if you trust the network path to it)", r.Name(), err, host, host)
	case strings.Contains(msg, "UNAUTHORIZED") || strings.Contains(msg, "DENIED"):
		return fmt.Errorf("pulling %s: %w (log in with docker login %s, or check the credentials in ~/.docker/config.json)", r.Name(), err, host)
	case strings.Contains(msg, "MANIFEST_UNKNOWN") || strings.Contains(msg, "NAME_UNKNOWN"):
		return fmt.Errorf("pulling %s: %w (check the name and tag)", r.Name(), err)
	case errors.Is(err, fs.ErrNotExist), strings.HasPrefix(msg, "pulling "), strings.Contains(msg, r.Name()):
		return err
	}
	return fmt.Errorf("pulling %s: %w", r.Name(), err)
}

// schemeGuard sends plain-HTTP requests only to the registries named
// insecure and upgrades every other one to HTTPS (see
// PullOptions.InsecureRegistries). Token endpoints and redirects (blob
// storage) go through it too.
type schemeGuard struct {
	base     http.RoundTripper
	insecure map[string]bool
}

func (g *schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure[req.URL.Host] {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return g.base.RoundTrip(req)
}
