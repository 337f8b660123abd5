package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/safe-run/safe-run/internal/image"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
)

// imageCommands are pull, load, images and rmi.
func imageCommands() []*cli.Command {
	return []*cli.Command{pullCommand(), loadCommand(), imagesCommand(), rmiCommand()}
}

// Flags shared by the image commands.
var (
	dataDirFlag = &cli.StringFlag{Name: "data-dir", Usage: "image store `DIR` (default /var/lib/safe-run as root, $XDG_DATA_HOME/safe-run otherwise)",
		EnvVars: []string{"SAFE_RUN_DATA_DIR"}, Category: "Store"}
	maxUnpackFlag = &cli.StringFlag{Name: "max-unpack-size", Usage: "refuse images that download or unpack to more than `SIZE` (e.g. 16g)",
		Value: "8g", EnvVars: []string{"SAFE_RUN_MAX_UNPACK_SIZE"}, Category: "Store"}
)

// imageStore is the store the flags name. It also serves commands that
// lack the store flags (run IMAGE): then SAFE_RUN_DATA_DIR and
// SAFE_RUN_MAX_UNPACK_SIZE are read directly.
func imageStore(c *cli.Context) (*image.Store, error) {
	dir := c.String("data-dir")
	if dir == "" {
		dir = os.Getenv("SAFE_RUN_DATA_DIR")
	}
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = image.DefaultDir(os.Geteuid(), os.Getenv("XDG_DATA_HOME"), home)
	}
	s := &image.Store{Dir: dir}
	text := c.String("max-unpack-size")
	if text == "" {
		text = os.Getenv("SAFE_RUN_MAX_UNPACK_SIZE")
	}
	if text != "" {
		var size *profile.Size
		if err := profile.ParseOverride(text, &size); err != nil || size == nil || *size == 0 {
			return nil, runtime.ToolError("--max-unpack-size %q: write a size such as 8g or 512m", text)
		}
		s.MaxUnpackBytes = int64(*size)
	}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		s.Progress = os.Stderr
	}
	return s, nil
}

// imageInterruptible is a context that SIGINT/SIGTERM cancel, so that an
// interrupted pull stops cleanly (its temp files are collected later).
func imageInterruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch an image from a registry into the image store",
		ArgsUsage: "REF",
		Description: `Fetches REF (by tag or by digest) for this machine's platform, with the
credentials of ~/.docker/config.json (docker login), checks every blob
against its digest, stores it (blobs already stored are not fetched
again), and unpacks it once, safely, into a read-only tree that every run
of the image shares. The resolved digest is printed on stderr, the pinned
reference (REPO@sha256:...) on stdout.

Registries are reached over HTTPS only; --insecure-registry HOST allows
plain HTTP to that one host (a local test registry, say).

Examples:
   safe-run pull docker.io/library/busybox:1.36
   safe-run pull --insecure-registry 127.0.0.1:5000 127.0.0.1:5000/app:dev
   safe-run pull --require-digest ghcr.io/org/app@sha256:...`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "insecure-registry", Usage: "reach registry `HOST[:PORT]` over plain HTTP (repeatable)", Category: "Trust"},
			&cli.BoolFlag{Name: "require-digest", Usage: "refuse a reference not pinned by digest (REPO@sha256:...)", Category: "Trust"},
			&cli.BoolFlag{Name: "require-fully-qualified", Usage: "refuse a reference without a registry host (no bare pulls such as \"busybox\")", Category: "Trust"},
			dataDirFlag, maxUnpackFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return runtime.ToolError("pull takes one image reference, e.g. safe-run pull docker.io/library/busybox:1.36")
			}
			s, err := imageStore(c)
			if err != nil {
				return err
			}
			ctx, cancel := imageInterruptible()
			defer cancel()
			ref := c.Args().First()
			img, err := s.Pull(ctx, ref, image.PullOptions{
				RequireDigest:         c.Bool("require-digest"),
				RequireFullyQualified: c.Bool("require-fully-qualified"),
				InsecureRegistries:    c.StringSlice("insecure-registry"),
			})
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			imageReportAdded(img)
			fmt.Println(imagePinned(img))
			return nil
		},
	}
}

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:      "load",
		Usage:     "add an image from a docker save archive or an OCI image layout",
		ArgsUsage: "FILE|DIR",
		Description: `Reads a docker-archive (docker save IMAGE > FILE), an OCI image layout
directory, or a tar of one; which it is is told by the content. Every blob
is checked against its digest, and the image is unpacked once, safely, as
pull does. --verify sha256:HEX refuses the file unless its SHA-256 (as
sha256sum prints it) matches, before anything in it is read.

Examples:
   docker save busybox:1.36 > busybox.tar
   safe-run load --verify sha256:$(sha256sum busybox.tar | cut -d' ' -f1) busybox.tar
   safe-run load --tag localhost/app:dev ./oci-layout/`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "verify", Usage: "refuse FILE unless its SHA-256 is `sha256:HEX`", Category: "Trust"},
			&cli.StringFlag{Name: "tag", Usage: "store the image as `REF` instead of the name the archive records", Category: "Store"},
			dataDirFlag, maxUnpackFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return runtime.ToolError("load takes one file or directory, e.g. safe-run load busybox.tar")
			}
			s, err := imageStore(c)
			if err != nil {
				return err
			}
			ctx, cancel := imageInterruptible()
			defer cancel()
			img, err := s.Load(ctx, c.Args().First(), image.LoadOptions{VerifySHA256: c.String("verify"), Tag: c.String("tag")})
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			imageReportAdded(img)
			fmt.Println(imagePinned(img))
			return nil
		},
	}
}

// imageReportAdded prints the resolved digest, and whether anything was new.
func imageReportAdded(img *image.Image) {
	status := "up to date, nothing fetched"
	if img.Fetched > 0 {
		status = imageSize(img.Fetched) + " stored"
	}
	fmt.Fprintf(os.Stderr, "safe-run: %s: digest %s (%d layer(s), %s)\n", imageDisplayName(img), img.Digest, len(img.Layers), status)
}

// imagePinned is the reference that names exactly this content.
func imagePinned(img *image.Image) string {
	if img.Ref == "" {
		return img.Digest
	}
	r, err := name.ParseReference(img.Ref)
	if err != nil || img.Source != "registry" {
		// A loaded image's digest is not in any registry under that name.
		return img.Ref
	}
	return r.Context().Name() + "@" + img.Digest
}

func imageDisplayName(img *image.Image) string {
	if img.Ref == "" {
		return "<none>"
	}
	return img.Ref
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "images",
		Usage: "list the images in the image store",
		Flags: []cli.Flag{jsonFlag, dataDirFlag},
		Action: func(c *cli.Context) error {
			s, err := imageStore(c)
			if err != nil {
				return err
			}
			imgs, err := s.List()
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			if c.Bool("json") {
				if imgs == nil {
					imgs = []*image.Image{}
				}
				return printJSON(imgs)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "REPOSITORY\tTAG\tDIGEST\tSIZE\tCREATED")
			now := time.Now()
			for _, img := range imgs {
				repo, tag := imageSplitRef(img.Ref)
				created := img.Created
				if created.IsZero() {
					created = img.Stored
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", repo, tag, imageShortDigest(img.Digest), imageSize(img.Size), imageAgo(now, created))
			}
			return w.Flush()
		},
	}
}

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove images from the image store",
		ArgsUsage: "REF|DIGEST...",
		Description: `Forgets each image, then removes the blobs and unpacked trees that no
remaining image uses. A tree still used by a running container is kept
until a later rmi. A digest (sha256:... or 12+ hex digits) removes every
reference to it.`,
		Flags: []cli.Flag{dataDirFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return runtime.ToolError("rmi takes one or more image references (safe-run images lists them)")
			}
			s, err := imageStore(c)
			if err != nil {
				return err
			}
			var failed []string
			for _, ref := range c.Args().Slice() {
				if err := s.Remove(ref); err != nil {
					fmt.Fprintf(os.Stderr, "safe-run: rmi: %v\n", err)
					failed = append(failed, ref)
					continue
				}
				fmt.Println("removed", ref)
			}
			if len(failed) > 0 {
				return runtime.ToolError("rmi: %d of %d image(s) not removed: %s", len(failed), c.NArg(), strings.Join(failed, " "))
			}
			return nil
		},
	}
}

// imageSplitRef splits a stored reference into REPOSITORY and TAG columns (a
// digest reference has no tag).
func imageSplitRef(ref string) (repo, tag string) {
	if ref == "" {
		return "<none>", "<none>"
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref, "<none>"
	}
	if t, ok := r.(name.Tag); ok {
		return r.Context().Name(), t.TagStr()
	}
	return r.Context().Name(), "<none>"
}

func imageShortDigest(d string) string {
	h := strings.TrimPrefix(d, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// imageSize renders bytes as docker does (decimal units, 3 digits).
func imageSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", v, units[i])
}

// imageAgo renders how long before now t was ("3 days ago").
func imageAgo(now, t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	d := now.Sub(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s ago", unit)
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 14*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d < 60*24*time.Hour:
		return plural(int(d/(7*24*time.Hour)), "week")
	case d < 2*365*24*time.Hour:
		return plural(int(d/(30*24*time.Hour)), "month")
	}
	return plural(int(d/(365*24*time.Hour)), "year")
}
