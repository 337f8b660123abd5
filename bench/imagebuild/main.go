// Command imagebuild builds the test images of bench/images.sh with
// go-containerregistry, as tests/image_test.go does: a busybox-static root
// filesystem (internal/image/imagetest), optionally followed by extra
// layers of incompressible pseudo-random data. It writes the image as a
// docker-archive (`docker save` format) and/or pushes it to a registry.
//
// Usage:
//
//	imagebuild [-busybox /bin/busybox] [-layers N] [-layer-mb MB] [-seed S]
//	           [-archive FILE -tag REF] [-push REF [-insecure]]
//
// The data layers are deterministic for a given -seed (ChaCha8), so two
// runs build the same digests. It prints the image's manifest digest,
// config digest, layer count and compressed size.
package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/safe-run/safe-run/internal/image/imagetest"
)

func main() {
	busybox := flag.String("busybox", "/bin/busybox", "static busybox `PATH` for the base layer")
	layers := flag.Int("layers", 0, "extra data layers on top of busybox")
	layerMB := flag.Int("layer-mb", 4, "`MB` of pseudo-random data per extra layer")
	seed := flag.Uint64("seed", 1, "seed of the data layers")
	archive := flag.String("archive", "", "write a docker-archive to `FILE`")
	tag := flag.String("tag", "", "the archive's RepoTags `REF` (with -archive)")
	push := flag.String("push", "", "push the image to `REF` (REGISTRY/REPO:TAG)")
	insecure := flag.Bool("insecure", false, "reach the -push registry over plain HTTP")
	flag.Parse()
	if err := run(*busybox, *layers, *layerMB, *seed, *archive, *tag, *push, *insecure); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(busybox string, layers, layerMB int, seed uint64, archive, tag, push string, insecure bool) error {
	if archive == "" && push == "" {
		return errors.New("nothing to do: give -archive FILE and/or -push REF")
	}
	if archive != "" && tag == "" {
		return errors.New("-archive needs -tag REF")
	}
	if layers < 0 || layerMB < 1 {
		return errors.New("-layers must be >= 0 and -layer-mb >= 1")
	}
	img, err := build(busybox, layers, layerMB, seed)
	if err != nil {
		return err
	}
	if archive != "" {
		t, err := name.NewTag(tag)
		if err != nil {
			return err
		}
		if err := tarball.WriteToFile(archive, t, img); err != nil {
			return fmt.Errorf("writing %s: %w", archive, err)
		}
	}
	if push != "" {
		var opts []name.Option
		if insecure {
			opts = append(opts, name.Insecure)
		}
		ref, err := name.ParseReference(push, opts...)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return describe(img)
}

// build returns busybox plus n layers, each holding one file of mb MiB of
// pseudo-random bytes (gzip cannot shrink them).
func build(busybox string, n, mb int, seed uint64) (v1.Image, error) {
	es, err := imagetest.BusyboxEntries(busybox)
	if err != nil {
		return nil, err
	}
	base, err := imagetest.Layer(es...)
	if err != nil {
		return nil, err
	}
	ls := []v1.Layer{base}
	rng := rand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8), 2: byte(seed >> 16), 3: byte(seed >> 24),
		4: byte(seed >> 32), 5: byte(seed >> 40), 6: byte(seed >> 48), 7: byte(seed >> 56)})
	for i := range n {
		data := make([]byte, mb<<20)
		rng.Read(data)
		l, err := imagetest.Layer(
			imagetest.Entry{Name: "data/", Type: tar.TypeDir},
			imagetest.Entry{Name: fmt.Sprintf("data/layer%d.bin", i+1), Body: data},
		)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return imagetest.Image(v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, WorkingDir: "/"}, ls...)
}

func describe(img v1.Image) error {
	d, err := img.Digest()
	if err != nil {
		return err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return err
	}
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	var size int64
	for _, l := range ls {
		s, err := l.Size()
		if err != nil {
			return err
		}
		size += s
	}
	fmt.Printf("digest %s config %s layers %d compressed %.1f MB\n", d, cfg, len(ls), float64(size)/1e6)
	return nil
}
