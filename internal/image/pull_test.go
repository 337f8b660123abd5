package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/safe-run/safe-run/internal/image/imagetest"
)

// testRegistry is go-containerregistry's in-memory registry on loopback
// over plain HTTP, counting blob downloads and able to corrupt one blob.
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu       sync.Mutex
	requests int
	blobGets map[string]int
	corrupt  string // blob digest whose body is altered on the way out
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{blobGets: map[string]int{}}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		var corrupt bool
		if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 && req.Method == http.MethodGet {
			d := req.URL.Path[i+len("/blobs/"):]
			r.blobGets[d]++
			corrupt = d == r.corrupt
		}
		r.mu.Unlock()
		if corrupt {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			if len(body) > 0 {
				body[len(body)/2] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	u, _ := url.Parse(r.srv.URL)
	r.host = u.Host
	return r
}

// push writes img to the registry as repo:tag and returns its digest.
func (r *testRegistry) push(t *testing.T, img v1.Image, repoTag string) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

func (r *testRegistry) counts() (requests, blobGets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.blobGets {
		blobGets += n
	}
	return r.requests, blobGets
}

func (r *testRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests, r.blobGets = 0, map[string]int{}
}

func TestPullByTagAndDigest(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push(t, testImage(t, busyboxLayer(t)), "test/busybox:v1")
	s := newStore(t)
	opts := PullOptions{InsecureRegistries: []string{reg.host}}
	ctx := context.Background()

	img, err := s.Pull(ctx, reg.host+"/test/busybox:v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != reg.host+"/test/busybox:v1" || img.Digest != digest.String() || img.Source != "registry" || img.Fetched == 0 {
		t.Errorf("pulled %+v, want digest %s", img, digest)
	}
	checkConfig(t, img)
	checkRootfs(t, s, img)

	// Again by tag: the manifest is asked for (tags move), no blob is.
	reg.reset()
	again, err := s.Pull(ctx, reg.host+"/test/busybox:v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, blobs := reg.counts(); blobs != 0 || again.Fetched != 0 {
		t.Errorf("second pull fetched %d blobs (%d bytes), want none", blobs, again.Fetched)
	}

	// By digest: the layers are there, so nothing is fetched but the manifest.
	reg.reset()
	byDigest, err := s.Pull(ctx, reg.host+"/test/busybox@"+digest.String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, blobs := reg.counts(); blobs != 0 || byDigest.Digest != digest.String() {
		t.Errorf("pull by digest: %d blobs fetched, digest %s", blobs, byDigest.Digest)
	}
	// A digest already stored is served without the registry at all.
	reg.reset()
	if _, err := s.Pull(ctx, reg.host+"/test/busybox@"+digest.String(), opts); err != nil {
		t.Fatal(err)
	}
	if requests, _ := reg.counts(); requests != 0 {
		t.Errorf("stored digest: %d registry requests, want 0", requests)
	}
	if all, _ := s.List(); len(all) != 2 {
		t.Errorf("List: %d images, want 2 (tag and digest references)", len(all))
	}
}

func TestPullPlainHTTPNeedsInsecureRegistry(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, testImage(t, busyboxLayer(t)), "test/busybox:v1")
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.host+"/test/busybox:v1", PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "--insecure-registry "+reg.host) {
		t.Fatalf("err = %v, want the --insecure-registry hint", err)
	}
	if requests, _ := reg.counts(); requests > 1 {
		// Only the push: not one plain-HTTP request reached it.
		t.Logf("%d requests (push included)", requests)
	}
}

func TestSchemeGuard(t *testing.T) {
	var got []string
	g := &schemeGuard{base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.Scheme+"://"+r.URL.Host)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(nil))}, nil
	}), insecure: map[string]bool{"127.0.0.1:5000": true}}
	for _, u := range []string{"http://127.0.0.1:5000/v2/", "http://127.0.0.1:5001/v2/", "http://192.168.1.2:5000/v2/", "https://example.com/v2/"} {
		req, _ := http.NewRequest("GET", u, nil)
		g.RoundTrip(req)
	}
	want := "http://127.0.0.1:5000 https://127.0.0.1:5001 https://192.168.1.2:5000 https://example.com"
	if strings.Join(got, " ") != want {
		t.Errorf("schemes = %v, want %s", got, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPullCorruptLayerRefused(t *testing.T) {
	reg := newTestRegistry(t)
	l := busyboxLayer(t)
	reg.push(t, testImage(t, l), "test/busybox:v1")
	d, _ := l.Digest()
	reg.corrupt = d.String()
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.host+"/test/busybox:v1", PullOptions{InsecureRegistries: []string{reg.host}})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") || !strings.Contains(err.Error(), d.String()) {
		t.Fatalf("err = %v, want a digest mismatch naming %s", err, d)
	}
	if all, _ := s.List(); len(all) != 0 || blobCount(t, s) != 0 {
		t.Errorf("a corrupt pull left %d images, %d blobs", len(all), blobCount(t, s))
	}
}

func TestPullUnsafeImageRefused(t *testing.T) {
	reg := newTestRegistry(t)
	evil := layerOfEntries(t,
		imagetest.Entry{Name: "../../../../tmp/safe-run-pull-escape", Body: []byte("pwned")},
		imagetest.Entry{Name: "/tmp/safe-run-pull-escape-abs", Body: []byte("pwned")})
	reg.push(t, testImage(t, busyboxLayer(t), evil), "test/evil:v1")
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.host+"/test/evil:v1", PullOptions{InsecureRegistries: []string{reg.host}})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
	wantAbsent(t, "/tmp/safe-run-pull-escape")
	wantAbsent(t, "/tmp/safe-run-pull-escape-abs")
	if all, _ := s.List(); len(all) != 0 || blobCount(t, s) != 0 {
		t.Errorf("a refused pull left %d images, %d blobs", len(all), blobCount(t, s))
	}
}

func TestPullSizeBound(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, testImage(t, busyboxLayer(t)), "test/busybox:v1")
	s := newStore(t)
	s.MaxUnpackBytes = 1024
	_, err := s.Pull(context.Background(), reg.host+"/test/busybox:v1", PullOptions{InsecureRegistries: []string{reg.host}})
	if err == nil || !strings.Contains(err.Error(), "--max-unpack-size") {
		t.Fatalf("err = %v", err)
	}
	if _, blobs := reg.counts(); blobs != 0 {
		t.Errorf("%d blobs fetched for an image known to be too big", blobs)
	}
}

func TestParseReferenceTrust(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, c := range []struct {
		ref  string
		opts PullOptions
		want string // normalized, or the error's text
	}{
		{"busybox", PullOptions{}, "index.docker.io/library/busybox:latest"},
		{"busybox", PullOptions{RequireFullyQualified: true}, "e.g. docker.io/library/busybox"},
		{"library/busybox:1", PullOptions{RequireFullyQualified: true}, "no bare pulls"},
		{"docker.io/library/busybox:1", PullOptions{RequireFullyQualified: true}, "index.docker.io/library/busybox:1"},
		{"localhost/app:1", PullOptions{RequireFullyQualified: true}, "localhost/app:1"},
		{"127.0.0.1:5000/app:1", PullOptions{RequireDigest: true}, "write it as 127.0.0.1:5000/app@sha256:"},
		{"app", PullOptions{RequireDigest: true}, "write it as app@sha256:"},
		{"127.0.0.1:5000/app@" + digest, PullOptions{RequireDigest: true, RequireFullyQualified: true}, "127.0.0.1:5000/app@" + digest},
		{"127.0.0.1:5000/app:1@" + digest, PullOptions{RequireDigest: true}, "127.0.0.1:5000/app@" + digest},
		{"UPPER/case", PullOptions{}, "invalid image reference"},
		{"", PullOptions{}, "no image reference"},
	} {
		r, err := ParseReference(c.ref, c.opts)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = r.Name()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("ParseReference(%q, %+v) = %q, want %q", c.ref, c.opts, got, c.want)
		}
	}
}

func TestPullNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.host+"/test/nothing:v1", PullOptions{InsecureRegistries: []string{reg.host}})
	if err == nil || !strings.Contains(err.Error(), "check the name and tag") {
		t.Fatalf("err = %v", err)
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		t.Error("a registry miss is not a store miss")
	}
}
