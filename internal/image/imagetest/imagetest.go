// Package imagetest builds container images in tests: layers from tar
// entries written by the test (including hostile ones), a busybox root
// filesystem, and images for this machine's platform.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a layer. Names are written as given: tests
// use this to build layers no honest tool would.
type Entry struct {
	Name string
	Type byte // tar.TypeReg when 0
	Body []byte
	Link string
	Mode int64 // 0644 (0755 for directories) when 0
}

// Tar returns the entries as an uncompressed tar stream.
func Tar(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, e := range entries {
		typ, mode := e.Type, e.Mode
		if typ == 0 {
			typ = tar.TypeReg
		}
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Link, Mode: mode, ModTime: mtime, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer is a gzip-compressed layer of the entries.
func Layer(entries ...Entry) (v1.Layer, error) {
	data, err := Tar(entries...)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// Applets are the busybox applets BusyboxEntries links in /bin.
var Applets = []string{"sh", "true", "false", "echo", "cat", "ls", "id", "env", "pwd", "sleep"}

// BusyboxEntries is a minimal root filesystem: the busybox binary at
// path (static, to run), applet links and the usual mount points.
func BusyboxEntries(path string) ([]Entry, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	es := []Entry{{Name: "bin/", Type: tar.TypeDir}, {Name: "bin/busybox", Body: bin, Mode: 0o755}}
	for _, a := range Applets {
		es = append(es, Entry{Name: "bin/" + a, Type: tar.TypeSymlink, Link: "busybox"})
	}
	for _, d := range []string{"etc/", "proc/", "sys/", "dev/", "tmp/", "usr/", "root/", "home/"} {
		es = append(es, Entry{Name: d, Type: tar.TypeDir})
	}
	es = append(es, Entry{Name: "etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")})
	return es, nil
}

// Image is an image of the layers for linux on this machine's
// architecture, with cfg as its runtime config.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = cfg
	cf.Created = v1.Time{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	return mutate.ConfigFile(img, cf)
}
