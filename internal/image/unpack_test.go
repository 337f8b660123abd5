package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tent is one tar entry of a test layer.
type tent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	uid  int
}

func file(name, body string) tent { return tent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func dir(name string) tent        { return tent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) tent {
	return tent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func hardlink(name, target string) tent {
	return tent{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}
func withMode(e tent, mode int64) tent { e.mode = mode; return e }
func node(name string, typ byte) tent  { return tent{name: name, typ: typ, mode: 0o666} }
func withUID(e tent, uid int) tent     { e.uid = uid; return e }
func whiteout(dir, victim string) tent { return file(filepath.Join(dir, ".wh."+victim), "") }
func opaque(dir string) tent           { return file(filepath.Join(dir, ".wh..wh..opq"), "") }
func layerOf(t *testing.T, es ...tent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Uid: e.uid, Gid: e.uid,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unpack applies layers to a fresh root inside a fresh parent (so that
// an escape would land in parent, where the test looks for it).
func unpack(t *testing.T, opts UnpackOptions, layers ...[]byte) (root string, stats UnpackStats, err error) {
	t.Helper()
	parent := t.TempDir()
	root = filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	u, err := NewUnpacker(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, l := range layers {
		if err = u.Layer(bytes.NewReader(l)); err != nil {
			return root, u.Stats(), err
		}
	}
	return root, u.Stats(), u.Finish()
}

// bothResolvers runs f with openat2 and with the openat walk.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	for _, o2 := range []bool{true, false} {
		name := "openat2"
		if !o2 {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			old := useOpenat2
			useOpenat2 = o2
			defer func() { useOpenat2 = old }()
			f(t)
		})
	}
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("unpacking succeeded, want an error containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func wantAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (err %v): something escaped the root", p, err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCleanName(t *testing.T) {
	for _, c := range []struct{ in, out, err string }{
		{"bin/sh", "bin/sh", ""},
		{"./bin/sh", "bin/sh", ""},
		{"bin//sh/", "bin/sh", ""},
		{"./", "", ""},
		{"../etc/passwd", "", `".."`},
		{"a/../../etc/passwd", "", `".."`},
		{"a/..", "", `".."`},
		{"/etc/passwd", "", "absolute"},
		{"", "", "empty"},
		{"a\x00b", "", "NUL"},
		{strings.Repeat("a/", 3000), "", "longer than"},
	} {
		got, err := cleanName(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("cleanName(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("cleanName(%q) = %q, %v; want %q", c.in, got, err, c.out)
		}
	}
}

func TestUnpackPathTraversalRefused(t *testing.T) {
	for _, name := range []string{"../escaped", "a/../../escaped", "./../escaped", "/escaped", "/../escaped"} {
		t.Run(name, func(t *testing.T) {
			root, _, err := unpack(t, UnpackOptions{}, layerOf(t, dir("a"), file(name, "pwned")))
			if err == nil || !(strings.Contains(err.Error(), `".."`) || strings.Contains(err.Error(), "absolute")) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			wantAbsent(t, filepath.Join(filepath.Dir(root), "escaped"))
			wantAbsent(t, "/escaped")
		})
	}
}

func TestUnpackSymlinkEscapesRefused(t *testing.T) {
	outside := t.TempDir()
	probe := "safe-run-unpack-probe-" + filepath.Base(outside)
	cases := []struct {
		name   string
		layers [][]tent
	}{
		{"absolute_symlink_to_slash", [][]tent{{symlink("a", "/"), file("a/tmp/"+probe, "pwned")}}},
		{"absolute_symlink_outside", [][]tent{{symlink("a", outside), file("a/"+probe, "pwned")}}},
		{"relative_symlink_up", [][]tent{{symlink("a", "../../../../../../.."+outside), file("a/"+probe, "pwned")}}},
		{"symlink_in_lower_layer", [][]tent{{symlink("a", outside)}, {file("a/"+probe, "pwned")}}},
		{"nested_symlink_parent", [][]tent{{dir("d"), symlink("d/e", outside), file("d/e/"+probe, "pwned")}}},
		{"symlink_then_dir_entry", [][]tent{{symlink("a", outside), dir("a/sub")}}},
		{"whiteout_through_symlink", [][]tent{{symlink("a", outside)}, {whiteout("a", "victim")}}},
		{"opaque_through_symlink", [][]tent{{symlink("a", outside)}, {opaque("a")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothResolvers(t, func(t *testing.T) {
				writeOutside(t, outside, "victim")
				var layers [][]byte
				for _, l := range c.layers {
					layers = append(layers, layerOf(t, l...))
				}
				_, _, err := unpack(t, UnpackOptions{}, layers...)
				wantErr(t, err, "is a symlink: refused")
				wantAbsent(t, filepath.Join(outside, probe))
				wantAbsent(t, filepath.Join("/tmp", probe))
				if got := readFile(t, filepath.Join(outside, "victim")); got != "keep" {
					t.Fatalf("a file outside the root was changed: %q", got)
				}
			})
		})
	}
}

func writeOutside(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackSymlinkStoredNotFollowed(t *testing.T) {
	// A symlink entry may point anywhere (it resolves inside the
	// container's root at run time); replacing it later replaces the
	// link, never writes through it.
	outside := t.TempDir()
	writeOutside(t, outside, "target")
	root, _, err := unpack(t, UnpackOptions{},
		layerOf(t, symlink("etc-localtime", "/usr/share/zoneinfo/UTC"), symlink("l", filepath.Join(outside, "target"))),
		layerOf(t, file("l", "replaced")))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(root, "etc-localtime")); got != "/usr/share/zoneinfo/UTC" {
		t.Errorf("symlink target = %q", got)
	}
	if got := readFile(t, filepath.Join(root, "l")); got != "replaced" {
		t.Errorf("l = %q, want the new regular file", got)
	}
	if got := readFile(t, filepath.Join(outside, "target")); got != "keep" {
		t.Errorf("the symlink's target outside the root was written: %q", got)
	}
}

func TestUnpackHardlinks(t *testing.T) {
	outside := t.TempDir()
	writeOutside(t, outside, "secret")
	t.Run("escapes_refused", func(t *testing.T) {
		for _, c := range []struct {
			name string
			es   []tent
			err  string
		}{
			{"dotdot", []tent{hardlink("h", "../secret")}, `".."`},
			{"absolute", []tent{hardlink("h", filepath.Join(outside, "secret"))}, "absolute"},
			{"through_symlink", []tent{symlink("s", outside), hardlink("h", "s/secret")}, "is a symlink: refused"},
			{"missing", []tent{hardlink("h", "nope")}, "does not exist"},
			{"directory", []tent{dir("d"), hardlink("h", "d")}, "is a directory"},
			{"root", []tent{hardlink("h", "./")}, "root directory"},
		} {
			t.Run(c.name, func(t *testing.T) {
				bothResolvers(t, func(t *testing.T) {
					root, _, err := unpack(t, UnpackOptions{}, layerOf(t, c.es...))
					wantErr(t, err, c.err)
					wantAbsent(t, filepath.Join(root, "h"))
				})
			})
		}
	})
	t.Run("inside_works", func(t *testing.T) {
		root, _, err := unpack(t, UnpackOptions{}, layerOf(t, dir("bin"), file("bin/a", "x"), hardlink("bin/b", "bin/a"),
			symlink("ln", filepath.Join(outside, "secret")), hardlink("ln2", "ln")))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := os.Stat(filepath.Join(root, "bin/a"))
		b, _ := os.Stat(filepath.Join(root, "bin/b"))
		if !os.SameFile(a, b) {
			t.Error("bin/b is not a hardlink of bin/a")
		}
		// A hardlink to a symlink is the symlink itself, not its target.
		fi, err := os.Lstat(filepath.Join(root, "ln2"))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("ln2 = %v, %v; want a symlink", fi, err)
		}
	})
	t.Run("replacing_a_link_leaves_the_other_name", func(t *testing.T) {
		root, _, err := unpack(t, UnpackOptions{}, layerOf(t, file("a", "old"), hardlink("b", "a")), layerOf(t, file("b", "new")))
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(root, "a")); got != "old" {
			t.Errorf("a = %q: writing b wrote through the shared inode", got)
		}
	})
}

func TestUnpackWhiteouts(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, _, err := unpack(t, UnpackOptions{},
			layerOf(t, dir("d"), file("d/a", "a"), file("d/b", "b"), file("f", "f"), dir("gone"), file("gone/x", "x"),
				dir("o"), file("o/x", "x"), dir("o/sub"), file("o/sub/y", "y"),
				dir("p"), file("p/old", "old"), dir("p/keep"), file("p/keep/lower", "lower")),
			layerOf(t, whiteout("d", "a"), whiteout("", "f"), whiteout("", "gone"), whiteout("", "never-existed"), whiteout("nodir", "x"),
				dir("o"), opaque("o"), file("o/new", "new"),
				// the opaque marker after this layer's own entries spares them
				file("p/mine", "mine"), file("p/keep/upper", "upper"), opaque("p")))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"d/a", "f", "gone", "o/x", "o/sub", "p/old", "p/keep/lower", "d/.wh.a", "o/.wh..wh..opq"} {
			wantAbsent(t, filepath.Join(root, p))
		}
		for _, p := range []string{"d/b", "o/new", "p/mine", "p/keep/upper"} {
			if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	})
}

func TestUnpackInvalidWhiteout(t *testing.T) {
	_, _, err := unpack(t, UnpackOptions{}, layerOf(t, file(".wh.", "")))
	wantErr(t, err, "invalid whiteout")
}

func TestUnpackDeviceNodesSkipped(t *testing.T) {
	root, stats, err := unpack(t, UnpackOptions{}, layerOf(t, dir("dev"),
		node("dev/mem", tar.TypeChar), node("dev/sda", tar.TypeBlock), node("dev/fifo", tar.TypeFifo), hardlink("dev/mem2", "dev/mem")))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Skipped != 4 {
		t.Errorf("Skipped = %d, want 4", stats.Skipped)
	}
	for _, n := range []string{"mem", "sda", "fifo", "mem2"} {
		wantAbsent(t, filepath.Join(root, "dev", n))
	}
}

func TestUnpackSetuidStripped(t *testing.T) {
	layer := layerOf(t, withMode(file("su", "x"), 0o4755), withMode(file("wall", "x"), 0o2755), withMode(file("plain", "x"), 0o755),
		withMode(dir("shared"), 0o2775), withMode(dir("tmp"), 0o1777))
	root, stats, err := unpack(t, UnpackOptions{}, layer)
	if err != nil {
		t.Fatal(err)
	}
	wantMode(t, root, "su", 0o755)
	wantMode(t, root, "wall", 0o755)
	wantMode(t, root, "plain", 0o755)
	wantMode(t, root, "shared", 0o2775) // setgid directories grant nothing
	wantMode(t, root, "tmp", 0o1777)
	if stats.Stripped != 2 {
		t.Errorf("Stripped = %d, want 2", stats.Stripped)
	}
	root, stats, err = unpack(t, UnpackOptions{KeepSetuid: true}, layer)
	if err != nil {
		t.Fatal(err)
	}
	wantMode(t, root, "su", 0o4755)
	wantMode(t, root, "wall", 0o2755)
	if stats.Stripped != 0 {
		t.Errorf("KeepSetuid: Stripped = %d, want 0", stats.Stripped)
	}
}

func wantMode(t *testing.T, root, name string, want uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(root, name), &st); err != nil {
		t.Fatal(err)
	}
	if got := st.Mode & 0o7777; got != want {
		t.Errorf("%s: mode %o, want %o", name, got, want)
	}
}

func TestUnpackSizeBound(t *testing.T) {
	t.Run("file_contents", func(t *testing.T) {
		_, _, err := unpack(t, UnpackOptions{MaxBytes: 4096}, layerOf(t, file("small", "x"), file("big", strings.Repeat("x", 8192))))
		var le *LimitError
		if !errors.As(err, &le) {
			t.Fatalf("err = %v, want a LimitError", err)
		}
		wantErr(t, err, "--max-unpack-size")
		wantErr(t, err, "4KiB")
	})
	t.Run("many_empty_entries", func(t *testing.T) {
		var es []tent
		for i := range 100 {
			es = append(es, file("f"+strings.Repeat("x", i), ""))
		}
		_, _, err := unpack(t, UnpackOptions{MaxBytes: 20 * entryCost}, layerOf(t, es...))
		wantErr(t, err, "unpack limit")
	})
	t.Run("across_layers", func(t *testing.T) {
		l := layerOf(t, file("f", strings.Repeat("x", 3000)))
		_, _, err := unpack(t, UnpackOptions{MaxBytes: 5000}, l, l)
		wantErr(t, err, "unpack limit")
	})
	t.Run("trailing_garbage", func(t *testing.T) {
		l := append(layerOf(t, file("f", "x")), make([]byte, trailingSlack+4096)...)
		_, _, err := unpack(t, UnpackOptions{}, l)
		wantErr(t, err, "after the end of the tar stream")
	})
}

func TestUnpackHugeHeaderRefused(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A PAX path far beyond PATH_MAX.
	if err := tw.WriteHeader(&tar.Header{Name: strings.Repeat("a", 100000), Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	_, _, err := unpack(t, UnpackOptions{}, buf.Bytes())
	wantErr(t, err, "longer than")
}

func TestUnpackReplacesAndFinalModes(t *testing.T) {
	root, _, err := unpack(t, UnpackOptions{},
		layerOf(t, withMode(dir("ro"), 0o555), file("ro/a", "a"), file("x", "file"), dir("y"), file("y/z", "z"),
			withMode(file("locked", "l"), 0o000), file("implicit/parent/f", "f")),
		// a later layer still writes into the 0555 directory, turns a
		// file into a directory and a directory into a file
		layerOf(t, file("ro/b", "b"), dir("x"), file("x/in", "in"), file("y", "now a file"), file("locked", "new")))
	if err != nil {
		t.Fatal(err)
	}
	wantMode(t, root, "ro", 0o555)
	wantMode(t, root, "implicit", 0o755)
	wantMode(t, root, "implicit/parent", 0o755)
	if got := readFile(t, filepath.Join(root, "ro/b")); got != "b" {
		t.Errorf("ro/b = %q", got)
	}
	if got := readFile(t, filepath.Join(root, "x/in")); got != "in" {
		t.Errorf("x/in = %q", got)
	}
	if got := readFile(t, filepath.Join(root, "y")); got != "now a file" {
		t.Errorf("y = %q", got)
	}
	fi, err := os.Stat(filepath.Join(root, "ro/a"))
	if err != nil || !fi.ModTime().Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ro/a mtime = %v, %v", fi, err)
	}
	// The tree can be removed again, 0555 directories included.
	if err := removeTree(root); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, root)
}

func TestUnpackOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	layer := layerOf(t, withUID(dir("home"), 1000), withUID(file("home/f", "x"), 1000), withUID(symlink("home/l", "f"), 1000))
	root, _, err := unpack(t, UnpackOptions{Chown: true}, layer)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"home", "home/f", "home/l"} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("%s: owner %d:%d, want 1000:1000", p, st.Uid, st.Gid)
		}
	}
	root, _, err = unpack(t, UnpackOptions{Chown: false}, layer)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(root, "home/f"), &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != os.Geteuid() {
		t.Errorf("without Chown: owner %d, want the caller %d", st.Uid, os.Geteuid())
	}
}

func TestUnpackUnsupportedTypeRefused(t *testing.T) {
	_, _, err := unpack(t, UnpackOptions{}, layerOf(t, tent{name: "x", typ: 'Z', mode: 0o644}))
	wantErr(t, err, "unsupported tar entry type")
}
