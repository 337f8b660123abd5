package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/image"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
)

// imageFlags are the run flags that only matter with an IMAGE.
var imageFlags = []cli.Flag{
	&cli.StringFlag{Name: "pull", Usage: "pull the image: `missing` (default), always or never", Value: "missing", Category: "Image"},
	&cli.StringSliceFlag{Name: "insecure-registry", Usage: "reach registry `HOST[:PORT]` over plain HTTP (repeatable)", Category: "Image"},
	&cli.StringFlag{Name: "entrypoint", Usage: "replace the image's entrypoint with `CMD` (\"\" clears it)", Category: "Image"},
}

// rawArgs is the command line as given: the flag parser drops "--", and
// `run` needs to know whether its first argument came after one.
var rawArgs []string

// imageMode reports whether `run`'s first argument names an image
// (`run [flags] IMAGE [CMD...]`, as docker run) rather than a command for
// the profile's root filesystem (`run [flags] -- CMD...`).
func imageMode(c *cli.Context) bool {
	first := c.Args().First()
	if first == "" || c.IsSet("rootfs") {
		return false
	}
	for i, a := range rawArgs {
		if a == "--" {
			return !(i+1 < len(rawArgs) && rawArgs[i+1] == first)
		}
	}
	return true
}

// imageRun is the image a container runs from.
type imageRun struct {
	img *image.Image
	dir string // its extracted tree, shared read-only by every container of the image
}

// openImage finds the image in the store (pulling it as --pull says) and
// holds its tree until release.
func openImage(c *cli.Context, ref string) (*imageRun, func(), error) {
	store, err := imageStore(c)
	if err != nil {
		return nil, nil, err
	}
	var img *image.Image
	policy := c.String("pull")
	switch policy {
	case "missing", "never":
		img, err = store.Get(ref)
		var nf *image.NotFoundError
		if errors.As(err, &nf) && policy == "missing" {
			img, err = pullImage(c, store, ref)
		} else if errors.As(err, &nf) {
			return nil, nil, runtime.ToolError("image %q is not in the store and --pull never forbids pulling it: safe-run pull %s (or safe-run load FILE)", ref, ref)
		}
	case "always":
		img, err = pullImage(c, store, ref)
	default:
		return nil, nil, runtime.ToolError("--pull %q: valid values are missing, always and never", policy)
	}
	if err != nil {
		return nil, nil, runtime.ToolError("%v", err)
	}
	dir, release, err := store.Use(img)
	if err != nil {
		return nil, nil, runtime.ToolError("image %s: %v", ref, err)
	}
	return &imageRun{img: img, dir: dir}, release, nil
}

func pullImage(c *cli.Context, store *image.Store, ref string) (*image.Image, error) {
	ctx, cancel := imageInterruptible()
	defer cancel()
	// No bare pulls (the seed guides' "trusted content only"): a name
	// without a registry would silently mean Docker Hub.
	img, err := store.Pull(ctx, ref, image.PullOptions{RequireFullyQualified: true,
		InsecureRegistries: c.StringSlice("insecure-registry")})
	if err == nil {
		imageReportAdded(img)
	}
	return img, err
}

// imageOverlay lays the image's configuration over the profile, under the
// command line's flags: its tree as the read-only root, its environment
// (the image knows its own PATH), working directory and user. It returns
// the command: the entrypoint (or --entrypoint) followed by the given
// arguments, or by the image's Cmd when none are given.
func imageOverlay(c *cli.Context, ir *imageRun, args []string) (*profile.File, []string, []string, error) {
	cfg := ir.img.Config
	o := profile.Overlay()
	const origin = "image config"
	o.Rootfs = &ir.dir
	o.SetOrigin("rootfs", origin)
	if len(cfg.Env) > 0 {
		o.Env = &profile.Env{Set: map[string]string{}}
		for _, kv := range cfg.Env {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				o.Env.Set[k] = v
				o.SetOrigin("env.set."+k, origin)
			}
		}
	}
	if cfg.WorkingDir != "" {
		wd := cfg.WorkingDir
		o.Workdir = &wd
		o.SetOrigin("workdir", origin)
	}
	var notices []string
	switch u := cfg.User; {
	case u == "" || u == "0" || u == "root" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:"):
		notices = append(notices, "the image runs as root; safe-run runs it as the profile's user (give -u to choose)")
	default:
		user, err := resolveImageUser(ir.dir, u)
		if err != nil {
			return nil, nil, nil, runtime.ToolError("image %s: USER %q: %v", ir.img.Ref, u, err)
		}
		o.User = &user
		o.SetOrigin("user", origin)
	}
	entrypoint := cfg.Entrypoint
	if c.IsSet("entrypoint") {
		entrypoint = nil
		if e := c.String("entrypoint"); e != "" {
			entrypoint = []string{e}
		}
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 && !c.IsSet("entrypoint") {
		args = cfg.Cmd
	}
	command := append(append([]string(nil), entrypoint...), args...)
	if len(command) == 0 {
		return nil, nil, nil, runtime.ToolError("image %s has no entrypoint or command: give one after the image name", ir.img.Ref)
	}
	return o, command, notices, nil
}

// resolveImageUser turns the image's USER (name or uid, with an optional
// group) into "UID:GID" using the image's own /etc/passwd and /etc/group,
// read through securejoin so that a symlink in the image cannot point the
// lookup at the host's files.
func resolveImageUser(root, user string) (string, error) {
	name, group, hasGroup := strings.Cut(user, ":")
	uid, gid, err := lookupID(root, "/etc/passwd", name, true)
	if err != nil {
		return "", err
	}
	if hasGroup {
		if gid, _, err = lookupID(root, "/etc/group", group, false); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d:%d", uid, gid), nil
}

// lookupID finds name (or a number) in a passwd- or group-style file of
// the image: it returns field 3 (the id) and, for passwd, field 4 (the
// primary gid; for a number not in passwd, the gid equals the uid).
func lookupID(root, file, name string, passwd bool) (uint32, uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		id := uint32(n)
		gid := id
		if passwd {
			if _, g, err := lookupID(root, file, "#"+name, true); err == nil {
				gid = g
			}
		}
		return id, gid, nil
	}
	path, err := securejoin.SecureJoin(root, file)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("%s is not in the image: use a numeric user", file)
	}
	defer f.Close()
	byID := strings.HasPrefix(name, "#")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 {
			continue
		}
		if (byID && fields[2] != name[1:]) || (!byID && fields[0] != name) {
			continue
		}
		id, err1 := strconv.ParseUint(fields[2], 10, 32)
		second, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || (passwd && err2 != nil) {
			return 0, 0, fmt.Errorf("malformed entry for %q in %s", name, file)
		}
		return uint32(id), uint32(second), nil
	}
	return 0, 0, fmt.Errorf("no %q in the image's %s", strings.TrimPrefix(name, "#"), file)
}
