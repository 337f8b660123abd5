package tests

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/safe-run/safe-run/internal/image/imagetest"
)

// registry is Debian's docker-registry (the CNCF distribution registry)
// on a free loopback port with its storage in a temp dir, and a counting
// proxy in front of it: pulls go through the proxy, so the test sees
// every request safe-run makes.
type registry struct {
	host    string // the registry itself (pushes)
	proxy   string // the counting proxy (pulls)
	storage string // its filesystem storage root

	mu       sync.Mutex
	blobGets int
}

// startRegistry starts docker-registry (installing it if needed) and
// stops it when the test ends.
func startRegistry(t *testing.T) *registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if out, err := exec.Command("apt-get", "install", "-y", "docker-registry").CombinedOutput(); err != nil {
			t.Skipf("docker-registry is not installed and apt-get install -y docker-registry failed: %v: %s", err, out)
		}
		if bin, err = exec.LookPath("docker-registry"); err != nil {
			t.Skipf("docker-registry not in PATH after installing it: %v", err)
		}
	}
	dir := t.TempDir()
	port := freePort(t)
	r := &registry{host: fmt.Sprintf("127.0.0.1:%d", port), storage: filepath.Join(dir, "storage")}
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, r.storage, r.host)
	cfgPath := filepath.Join(dir, "config.yml")
	writeFile(t, cfgPath, config)
	cmd := exec.Command(bin, "serve", cfgPath)
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	})
	poll(t, "docker-registry to listen on "+r.host, func() bool {
		resp, err := http.Get("http://" + r.host + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	target, _ := url.Parse("http://" + r.host)
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:") {
			r.mu.Lock()
			r.blobGets++
			r.mu.Unlock()
		}
		rp.ServeHTTP(w, req)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.proxy = ln.Addr().String()
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *registry) blobsFetched() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobGets
}

// push writes img as repo:tag and returns its manifest digest.
func (r *registry) push(t *testing.T, img v1.Image, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// tamper flips a byte in the middle of a blob in the registry's storage,
// keeping its size, as disk corruption or an attacker with write access
// to the registry would.
func (r *registry) tamper(t *testing.T, digest string) {
	t.Helper()
	hexDigest := strings.TrimPrefix(digest, "sha256:")
	p := filepath.Join(r.storage, "docker", "registry", "v2", "blobs", "sha256", hexDigest[:2], hexDigest, "data")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("registry blob: %v", err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// busyboxImage is an image of a busybox-static root filesystem, plus
// extra layers.
func busyboxImage(t *testing.T, extra ...v1.Layer) v1.Image {
	t.Helper()
	if busybox == "" {
		t.Skip("no static busybox: " + busyboxWhy)
	}
	es, err := imagetest.BusyboxEntries(busybox)
	if err != nil {
		t.Fatal(err)
	}
	base, err := imagetest.Layer(es...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Image(v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, WorkingDir: "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}}}, append([]v1.Layer{base}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imageArchive writes img as a docker-archive tagged ref into a new
// world-readable temp dir (the rootless test user loads it too) and
// returns the dir and the archive's path.
func imageArchive(t *testing.T, img v1.Image, ref, prefix string) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	archive := filepath.Join(dir, "img.tar")
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	os.Chmod(archive, 0o644)
	return dir, archive
}

// dataDir is a private image store for one env (owned by the test user
// when rootless).
func dataDir(t *testing.T, e *env) string {
	t.Helper()
	parent, err := os.MkdirTemp("/tmp", "safe-run-e2e-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if e.mode.rootless {
		if err := os.Chown(parent, testUser.uid, testUser.gid); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(parent, "store")
}

// images runs `safe-run images --json`.
func images(t *testing.T, e *env, vars []string) []map[string]any {
	t.Helper()
	r := e.runWith(vars, "images", "--json")
	wantCode(t, r, 0)
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("images --json: %v\n%s", err, r.stdout)
	}
	return out
}

func blobFiles(t *testing.T, store string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(store, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestImagePullFromRegistry pulls from a real registry, by tag and by
// digest, rootful and rootless, and runs the unpacked tree.
func TestImagePullFromRegistry(t *testing.T) {
	requireE2E(t)
	reg := startRegistry(t)
	digest := reg.push(t, busyboxImage(t), "test/busybox:v1")
	ref := reg.proxy + "/test/busybox:v1"

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			store := dataDir(t, e)
			vars := []string{"SAFE_RUN_DATA_DIR=" + store}

			t.Run("plain_http_needs_insecure_registry", func(t *testing.T) {
				r := e.runWith(vars, "pull", ref)
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "--insecure-registry "+reg.proxy)
			})

			var tree string
			t.Run("pull_by_tag", func(t *testing.T) {
				before := reg.blobsFetched()
				r := e.runWith(vars, "pull", "--insecure-registry", reg.proxy, ref)
				wantCode(t, r, 0)
				wantContains(t, "stderr", r.stderr, "digest "+digest)
				if got, want := strings.TrimSpace(r.stdout), reg.proxy+"/test/busybox@"+digest; got != want {
					t.Errorf("stdout = %q, want the pinned reference %q", got, want)
				}
				if n := reg.blobsFetched() - before; n != 2 {
					t.Errorf("%d blobs fetched, want 2 (one layer, one config)", n)
				}
				trees, _ := os.ReadDir(filepath.Join(store, "rootfs"))
				if len(trees) != 1 {
					t.Fatalf("rootfs/ holds %d trees, want 1", len(trees))
				}
				tree = filepath.Join(store, "rootfs", trees[0].Name())
				if _, err := os.Stat(filepath.Join(tree, "bin", "busybox")); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("second_pull_fetches_no_blob", func(t *testing.T) {
				before := reg.blobsFetched()
				r := e.runWith(vars, "pull", "--insecure-registry", reg.proxy, ref)
				wantCode(t, r, 0)
				wantContains(t, "stderr", r.stderr, "nothing fetched")
				if n := reg.blobsFetched() - before; n != 0 {
					t.Errorf("second pull fetched %d blobs, want 0", n)
				}
			})

			t.Run("pull_by_digest", func(t *testing.T) {
				before := reg.blobsFetched()
				r := e.runWith(vars, "pull", "--insecure-registry", reg.proxy, "--require-digest", reg.proxy+"/test/busybox@"+digest)
				wantCode(t, r, 0)
				wantContains(t, "stderr", r.stderr, "digest "+digest)
				if n := reg.blobsFetched() - before; n != 0 {
					t.Errorf("pull by digest fetched %d blobs, want 0 (all stored)", n)
				}
				r = e.runWith(vars, "pull", "--insecure-registry", reg.proxy, "--require-digest", ref)
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "not pinned by digest")
			})

			t.Run("images_lists_it", func(t *testing.T) {
				r := e.runWith(vars, "images")
				wantCode(t, r, 0)
				wantContains(t, "images", r.stdout, "REPOSITORY")
				wantContains(t, "images", r.stdout, reg.proxy+"/test/busybox")
				wantContains(t, "images", r.stdout, strings.TrimPrefix(digest, "sha256:")[:12])
				list := images(t, e, vars)
				if len(list) != 2 {
					t.Fatalf("images --json: %d images, want 2 (the tag and the digest reference)", len(list))
				}
				cfg, _ := list[0]["config"].(map[string]any)
				if ports := fmt.Sprint(cfg["exposed_ports"]); ports != "[8080/tcp]" {
					t.Errorf("exposed ports %s, want [8080/tcp]", ports)
				}
			})

			t.Run("unpacked_tree_runs", func(t *testing.T) {
				if tree == "" {
					t.Skip("no tree")
				}
				if m.rootless {
					// The test user's store is under a 0700 temp dir
					// the container's ids may not traverse otherwise.
					os.Chmod(filepath.Dir(store), 0o755)
				}
				r := e.run("run", "--rootfs", tree, "--", "/bin/sh", "-c", "echo from-image; touch /x")
				wantContains(t, "stdout", r.stdout, "from-image")
				wantContains(t, "stderr", r.stderr, "Read-only file system")
			})

			t.Run("rmi_removes_it_and_its_blobs", func(t *testing.T) {
				r := e.runWith(vars, "rmi", ref)
				wantCode(t, r, 0)
				if n := blobFiles(t, store); n != 2 {
					t.Errorf("%d blobs after removing one of two references, want 2 (still used)", n)
				}
				r = e.runWith(vars, "rmi", strings.TrimPrefix(digest, "sha256:")[:12])
				wantCode(t, r, 0)
				if list := images(t, e, vars); len(list) != 0 {
					t.Errorf("images after rmi: %v", list)
				}
				if n := blobFiles(t, store); n != 0 {
					t.Errorf("%d blobs left after removing every image", n)
				}
				if trees, _ := os.ReadDir(filepath.Join(store, "rootfs")); len(trees) != 0 {
					t.Errorf("%d trees left after removing every image", len(trees))
				}
				r = e.runWith(vars, "rmi", ref)
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "not in the store")
			})
		})
	}
}

// TestImagePullCorruptLayer tampers with a blob in the registry's storage.
func TestImagePullCorruptLayer(t *testing.T) {
	requireE2E(t)
	reg := startRegistry(t)
	layer, err := imagetest.Layer(imagetest.Entry{Name: "etc/motd", Body: []byte("corrupt me, " + strings.Repeat("x", 4096))})
	if err != nil {
		t.Fatal(err)
	}
	reg.push(t, busyboxImage(t, layer), "test/corrupt:v1")
	d, _ := layer.Digest()
	reg.tamper(t, d.String())
	e := newEnv(t, rootful)
	store := dataDir(t, e)
	vars := []string{"SAFE_RUN_DATA_DIR=" + store}
	r := e.runWith(vars, "pull", "--insecure-registry", reg.proxy, reg.proxy+"/test/corrupt:v1")
	wantCode(t, r, 125)
	wantContains(t, "stderr", r.stderr, "digest mismatch")
	wantContains(t, "stderr", r.stderr, d.String())
	if list := images(t, e, vars); len(list) != 0 {
		t.Errorf("a corrupt image was recorded: %v", list)
	}
	if n := blobFiles(t, store); n != 0 {
		t.Errorf("%d blobs left after a refused pull", n)
	}
}

// TestImagePullUnsafeImage pushes layers with ../ and absolute paths.
func TestImagePullUnsafeImage(t *testing.T) {
	requireE2E(t)
	reg := startRegistry(t)
	probe := fmt.Sprintf("safe-run-e2e-escape-%d", time.Now().UnixNano())
	for _, c := range []struct{ repo, entry, why string }{
		{"test/dotdot:v1", "../../../../../../tmp/" + probe, `".." in the path: refused`},
		{"test/absolute:v1", "/tmp/" + probe, "absolute path: refused"},
	} {
		t.Run(c.repo, func(t *testing.T) {
			evil, err := imagetest.Layer(imagetest.Entry{Name: c.entry, Body: []byte("pwned")})
			if err != nil {
				t.Fatal(err)
			}
			reg.push(t, busyboxImage(t, evil), c.repo)
			e := newEnv(t, rootful)
			store := dataDir(t, e)
			vars := []string{"SAFE_RUN_DATA_DIR=" + store}
			r := e.runWith(vars, "pull", "--insecure-registry", reg.proxy, reg.proxy+"/"+c.repo)
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, c.why)
			if _, err := os.Lstat("/tmp/" + probe); err == nil {
				t.Fatalf("/tmp/%s was written by the unpacker", probe)
			}
			if list := images(t, e, vars); len(list) != 0 {
				t.Errorf("an unsafe image was recorded: %v", list)
			}
		})
	}
}

// TestImageLoadDockerArchive loads a docker save archive, pinned with
// --verify (right and wrong hash).
func TestImageLoadDockerArchive(t *testing.T) {
	requireE2E(t)
	img := busyboxImage(t)
	dir, err := os.MkdirTemp("/tmp", "safe-run-e2e-archive-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	archive := filepath.Join(dir, "busybox.tar")
	tag, _ := name.NewTag("example.com/test/busybox:saved")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	os.Chmod(archive, 0o644)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	good := "sha256:" + hex.EncodeToString(sum[:])
	bad := "sha256:" + strings.Repeat("0", 64)

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			store := dataDir(t, e)
			vars := []string{"SAFE_RUN_DATA_DIR=" + store}

			r := e.runWith(vars, "load", "--verify", bad, archive)
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, "pinned with --verify")
			wantContains(t, "stderr", r.stderr, good)

			r = e.runWith(vars, "load", "--verify", good, archive)
			wantCode(t, r, 0)
			cfg, _ := img.ConfigName()
			wantContains(t, "stderr", r.stderr, "digest "+cfg.String())
			wantContains(t, "stdout", r.stdout, "example.com/test/busybox:saved")
			list := images(t, e, vars)
			if len(list) != 1 || list[0]["ref"] != "example.com/test/busybox:saved" || list[0]["source"] != "docker-archive" {
				t.Errorf("images --json = %v", list)
			}
			wantCode(t, e.runWith(vars, "rmi", "example.com/test/busybox:saved"), 0)
		})
	}
}

// TestImageLoadRefusesNonImage loads a tar that is no image.
func TestImageLoadRefusesNonImage(t *testing.T) {
	requireE2E(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "x.tar")
	data, _ := imagetest.Tar(imagetest.Entry{Name: "x", Type: tar.TypeReg, Body: []byte("x")})
	writeFile(t, p, string(data))
	e := newEnv(t, rootful)
	r := e.runWith([]string{"SAFE_RUN_DATA_DIR=" + dataDir(t, e)}, "load", p)
	wantCode(t, r, 125)
	wantContains(t, "stderr", r.stderr, "neither a docker-archive")
}
