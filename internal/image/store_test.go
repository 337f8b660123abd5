package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/safe-run/safe-run/internal/image/imagetest"
)

// busyboxPath is the busybox the test images carry (static from
// busybox-static when installed; any busybox will do for these tests,
// which never run it).
const busyboxPath = "/bin/busybox"

var testConfig = v1.Config{
	Entrypoint:   []string{"/bin/sh", "-c"},
	Cmd:          []string{"echo hello"},
	Env:          []string{"PATH=/bin", "GREETING=hi"},
	WorkingDir:   "/tmp",
	User:         "65534:65534",
	ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
}

// busyboxLayer is the busybox root filesystem as one layer.
func busyboxLayer(t *testing.T) v1.Layer {
	t.Helper()
	es, err := imagetest.BusyboxEntries(busyboxPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("%s is missing: the image carries a stand-in", busyboxPath)
		es = []imagetest.Entry{{Name: "bin/", Type: tar.TypeDir}, {Name: "bin/busybox", Body: []byte("#!stand-in"), Mode: 0o755},
			{Name: "bin/sh", Type: tar.TypeSymlink, Link: "busybox"}}
	} else if err != nil {
		t.Fatal(err)
	}
	l, err := imagetest.Layer(es...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func layerOfEntries(t *testing.T, es ...imagetest.Entry) v1.Layer {
	t.Helper()
	l, err := imagetest.Layer(es...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testImage(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := imagetest.Image(testConfig, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return &Store{Dir: filepath.Join(t.TempDir(), "store")}
}

func writeDockerArchive(t *testing.T, img v1.Image, tag string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeLayout(t *testing.T, img v1.Image, refName string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{annotationRefName: refName}))
	}
	if err := lp.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tarDir writes dir as a tar (names relative to dir) plus extra entries.
func tarDir(t *testing.T, dir string, extra ...imagetest.Entry) string {
	t.Helper()
	var es []imagetest.Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			es = append(es, imagetest.Entry{Name: rel + "/", Type: tar.TypeDir})
			return nil
		}
		data, err := os.ReadFile(p)
		es = append(es, imagetest.Entry{Name: rel, Body: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := imagetest.Tar(append(es, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "layout.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRootfs checks the unpacked tree of a busybox test image.
func checkRootfs(t *testing.T, s *Store, img *Image) string {
	t.Helper()
	dir, err := s.Rootfs(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(busyboxPath)
	if err != nil {
		want = []byte("#!stand-in")
	}
	got, err := os.ReadFile(filepath.Join(dir, "bin", "busybox"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("bin/busybox in the tree: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin", "sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	return dir
}

func checkConfig(t *testing.T, img *Image) {
	t.Helper()
	c := img.Config
	if strings.Join(c.Entrypoint, " ") != "/bin/sh -c" || strings.Join(c.Cmd, " ") != "echo hello" ||
		strings.Join(c.Env, " ") != "PATH=/bin GREETING=hi" || c.WorkingDir != "/tmp" || c.User != "65534:65534" ||
		strings.Join(c.ExposedPorts, " ") != "53/udp 8080/tcp" {
		t.Errorf("config = %+v", c)
	}
	if img.Created.IsZero() || img.Stored.IsZero() {
		t.Errorf("created %v, stored %v", img.Created, img.Stored)
	}
}

func blobCount(t *testing.T, s *Store) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir, blobsDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func dirCount(t *testing.T, p string) int {
	t.Helper()
	entries, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestLoadDockerArchive(t *testing.T) {
	src := testImage(t, busyboxLayer(t))
	p := writeDockerArchive(t, src, "example.com/test/busybox:1")
	s := newStore(t)
	img, err := s.Load(context.Background(), p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := src.ConfigName()
	if img.Ref != "example.com/test/busybox:1" || img.Source != "docker-archive" || img.Digest != cfgName.String() {
		t.Errorf("loaded %+v", img)
	}
	checkConfig(t, img)
	checkRootfs(t, s, img)
	got, err := s.Get("example.com/test/busybox:1")
	if err != nil || got.Digest != img.Digest {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	// Loaded twice: nothing new stored, the same tree.
	again, err := s.Load(context.Background(), p, LoadOptions{Tag: "other/name:2"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Fetched != 0 || again.Ref != "index.docker.io/other/name:2" {
		t.Errorf("second load: fetched %d, ref %q", again.Fetched, again.Ref)
	}
	if d1, d2 := checkRootfs(t, s, img), checkRootfs(t, s, again); d1 != d2 {
		t.Errorf("two trees for one layer chain: %s, %s", d1, d2)
	}
	if all, _ := s.List(); len(all) != 2 {
		t.Errorf("List = %d images, want 2", len(all))
	}
}

func TestLoadVerify(t *testing.T) {
	p := writeDockerArchive(t, testImage(t, busyboxLayer(t)), "example.com/test/busybox:1")
	data, _ := os.ReadFile(p)
	sum, _, _ := v1.SHA256(bytes.NewReader(data))
	s := newStore(t)
	if _, err := s.Load(context.Background(), p, LoadOptions{VerifySHA256: sum.String()}); err != nil {
		t.Fatalf("good hash: %v", err)
	}
	bad := "sha256:" + strings.Repeat("0", 64)
	s = newStore(t)
	_, err := s.Load(context.Background(), p, LoadOptions{VerifySHA256: bad})
	if err == nil || !strings.Contains(err.Error(), "pinned with --verify") || !strings.Contains(err.Error(), sum.String()) {
		t.Fatalf("bad hash: err = %v", err)
	}
	if all, _ := s.List(); len(all) != 0 || blobCount(t, s) != 0 {
		t.Errorf("refused load left %d images, %d blobs", len(all), blobCount(t, s))
	}
	_, err = s.Load(context.Background(), p, LoadOptions{VerifySHA256: "md5:abc"})
	if err == nil || !strings.Contains(err.Error(), "sha256:<64 hex digits>") {
		t.Fatalf("bad format: err = %v", err)
	}
}

func TestLoadOCILayoutDir(t *testing.T) {
	src := testImage(t, busyboxLayer(t))
	dir := writeLayout(t, src, "example.com/test/busybox:oci")
	s := newStore(t)
	img, err := s.Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := src.Digest()
	if img.Ref != "example.com/test/busybox:oci" || img.Source != "oci-layout" || img.Digest != d.String() {
		t.Errorf("loaded %+v, want digest %s", img, d)
	}
	checkConfig(t, img)
	checkRootfs(t, s, img)
	if _, err := s.Load(context.Background(), dir, LoadOptions{VerifySHA256: "sha256:" + strings.Repeat("0", 64)}); err == nil ||
		!strings.Contains(err.Error(), "is a directory") {
		t.Errorf("--verify on a directory: %v", err)
	}
}

func TestLoadOCILayoutTar(t *testing.T) {
	src := testImage(t, busyboxLayer(t))
	dir := writeLayout(t, src, "latest") // a bare tag names nothing
	// Hostile extras in the outer tar are never written anywhere.
	p := tarDir(t, dir,
		imagetest.Entry{Name: "../escaped", Body: []byte("x")},
		imagetest.Entry{Name: "/tmp/escaped-safe-run-test", Body: []byte("x")},
		imagetest.Entry{Name: "blobs/sha256/evil", Type: tar.TypeSymlink, Link: "/etc/passwd"})
	s := newStore(t)
	img, err := s.Load(context.Background(), p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != "" || img.Source != "oci-layout" {
		t.Errorf("loaded %+v", img)
	}
	checkRootfs(t, s, img)
	wantAbsent(t, filepath.Join(filepath.Dir(p), "..", "escaped"))
	wantAbsent(t, "/tmp/escaped-safe-run-test")
	// An untagged image is found by digest.
	if got, err := s.Get(img.Digest[:7+12]); err != nil || got.Digest != img.Digest {
		t.Errorf("Get(short digest) = %v, %v", got, err)
	}
	if dirCount(t, filepath.Join(s.Dir, tmpDir)) != 0 {
		t.Error("tmp/ not cleaned after the load")
	}
}

func TestLoadCorruptLayoutBlob(t *testing.T) {
	l := busyboxLayer(t)
	dir := writeLayout(t, testImage(t, l), "")
	d, _ := l.Digest()
	blob := filepath.Join(dir, "blobs", "sha256", d.Hex)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Load(context.Background(), dir, LoadOptions{})
	var de *DigestError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
	if blobCount(t, s) != 0 {
		t.Errorf("%d blobs left after a refused load", blobCount(t, s))
	}
}

func TestLoadRefusesUnsafeImage(t *testing.T) {
	for _, c := range []struct{ name, entry, err string }{
		{"dotdot", "../../etc/evil", `".."`},
		{"absolute", "/etc/evil", "absolute"},
	} {
		t.Run(c.name, func(t *testing.T) {
			evil := layerOfEntries(t, imagetest.Entry{Name: c.entry, Body: []byte("pwned")})
			p := writeDockerArchive(t, testImage(t, busyboxLayer(t), evil), "example.com/test/evil:1")
			s := newStore(t)
			_, err := s.Load(context.Background(), p, LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err = %v", err)
			}
			if all, _ := s.List(); len(all) != 0 {
				t.Errorf("a refused image was recorded: %+v", all[0])
			}
			if n := blobCount(t, s) + dirCount(t, filepath.Join(s.Dir, rootfsDir)) + dirCount(t, filepath.Join(s.Dir, tmpDir)); n != 0 {
				t.Errorf("%d blobs/trees/temp files left after a refused image", n)
			}
		})
	}
}

func TestLoadNotAnImage(t *testing.T) {
	s := newStore(t)
	p := filepath.Join(t.TempDir(), "x.tar")
	data, _ := imagetest.Tar(imagetest.Entry{Name: "hello.txt", Body: []byte("hi")})
	os.WriteFile(p, data, 0o644)
	if _, err := s.Load(context.Background(), p, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "neither a docker-archive") {
		t.Errorf("err = %v", err)
	}
	os.WriteFile(p, []byte{0x1f, 0x8b, 8, 0, 0, 0}, 0o644)
	if _, err := s.Load(context.Background(), p, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "decompress it first") {
		t.Errorf("gzip: err = %v", err)
	}
}

func TestLoadWrongArchitecture(t *testing.T) {
	src := testImage(t, busyboxLayer(t))
	cf, _ := src.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "sparc"
	img, err := mutate.ConfigFile(src, cf)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Load(context.Background(), writeDockerArchive(t, img, "example.com/x:1"), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "linux/sparc") {
		t.Fatalf("err = %v", err)
	}
}

func TestRemoveCollectsUnreferenced(t *testing.T) {
	base := busyboxLayer(t)
	extra := layerOfEntries(t, imagetest.Entry{Name: "etc/extra", Body: []byte("extra")})
	s := newStore(t)
	ctx := context.Background()
	a, err := s.Load(ctx, writeDockerArchive(t, testImage(t, base), "example.com/a:1"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Load(ctx, writeDockerArchive(t, testImage(t, base, extra), "example.com/b:1"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// base layer shared: 2 layers + 2 configs.
	if n := blobCount(t, s); n != 4 {
		t.Errorf("%d blobs, want 4 (the shared layer stored once)", n)
	}
	treeB := checkRootfs(t, s, b)
	if err := s.Remove("example.com/b:1"); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, s); n != 2 {
		t.Errorf("after rmi b: %d blobs, want 2", n)
	}
	wantAbsent(t, treeB)
	checkRootfs(t, s, a)
	if _, err := s.Get("example.com/b:1"); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("Get(removed) = %v", err)
	}
	if err := s.Remove("example.com/b:1"); err == nil || !strings.Contains(err.Error(), "not in the store") {
		t.Errorf("second rmi: %v", err)
	}
	if err := s.Remove(a.Digest); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, s) + dirCount(t, filepath.Join(s.Dir, rootfsDir)); n != 0 {
		t.Errorf("%d blobs/trees left in an empty store", n)
	}
}

func TestUseKeepsTreeThroughRemove(t *testing.T) {
	s := newStore(t)
	img, err := s.Load(context.Background(), writeDockerArchive(t, testImage(t, busyboxLayer(t)), "example.com/a:1"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir, release, err := s.Use(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("example.com/a:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "busybox")); err != nil {
		t.Fatalf("the tree of a container in use was removed: %v", err)
	}
	release()
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, dir)
}

func TestKeepSetuidTreesApart(t *testing.T) {
	l := layerOfEntries(t, imagetest.Entry{Name: "su", Body: []byte("x"), Mode: 0o4755})
	p := writeDockerArchive(t, testImage(t, l), "example.com/su:1")
	s := newStore(t)
	img, err := s.Load(context.Background(), p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := s.Rootfs(img)
	s.KeepSetuid = true
	kept, err := s.Rootfs(img)
	if err != nil {
		t.Fatal(err)
	}
	if plain == kept {
		t.Fatal("one tree for stripped and kept setuid bits")
	}
	wantMode(t, plain, "su", 0o755)
	wantMode(t, kept, "su", 0o4755)
	if err := s.Remove("example.com/su:1"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, kept)
}

func TestStoreDirRefusedWhenOthersCanWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	s := &Store{Dir: dir}
	_, err := s.Load(context.Background(), writeDockerArchive(t, testImage(t, busyboxLayer(t)), "example.com/a:1"), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	for _, c := range []struct {
		uid       int
		xdg, home string
		want      string
	}{
		{0, "/x", "/root", "/var/lib/safe-run"},
		{1000, "/xdg", "/home/u", "/xdg/safe-run"},
		{1000, "", "/home/u", "/home/u/.local/share/safe-run"},
		{1000, "", "", "/tmp/safe-run-data-1000"},
	} {
		if got := DefaultDir(c.uid, c.xdg, c.home); got != c.want {
			t.Errorf("DefaultDir(%d, %q, %q) = %q, want %q", c.uid, c.xdg, c.home, got, c.want)
		}
	}
}

func TestChainID(t *testing.T) {
	a := "sha256:" + strings.Repeat("a", 64)
	b := "sha256:" + strings.Repeat("b", 64)
	one, _ := chainID([]string{a})
	two, _ := chainID([]string{a, b})
	if one != strings.Repeat("a", 64) || two == one || len(two) != 64 {
		t.Errorf("chainID: %s, %s", one, two)
	}
	if _, err := chainID(nil); err == nil {
		t.Error("chainID(nil) succeeded")
	}
}
