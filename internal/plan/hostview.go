package plan

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/spec"
)

// hostView builds `rootfs: host`: an empty root (the bundle's rootfs
// directory) with read-only binds of /usr and the usr-merge directories,
// a short list of /etc entries, and synthesized passwd/group/hosts files
// that name only root and the container's user. Never the home, never
// /run, never an engine socket.
func (p *Plan) hostView(r *profile.Resolved, f *host.Facts, uid, gid uint32) ([]spec.Opt, error) {
	opts := []spec.Opt{spec.WithBind("/usr", "/usr", false)}
	names := make([]string, 0, len(f.UsrMerge))
	for n := range f.UsrMerge {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if target := f.UsrMerge[n]; target != "" {
			if !strings.HasPrefix(strings.TrimPrefix(target, "/"), "usr/") {
				return nil, fmt.Errorf("host /%s is a symlink to %q, outside /usr: the host view cannot show it", n, target)
			}
			p.Symlinks[n] = target
		} else {
			opts = append(opts, spec.WithBind("/"+n, "/"+n, false))
		}
	}
	for _, e := range f.EtcEntries {
		opts = append(opts, spec.WithBind(filepath.Join("/etc", e), filepath.Join("/etc", e), false))
	}
	userName, groupName, home := "user", "user", r.EnvSet["HOME"]
	if home == "" {
		home = "/"
	}
	if r.User.Invoking && f.UserName != "" {
		userName, groupName = f.UserName, f.UserName
	}
	if uid == 65534 {
		userName = "nobody"
	}
	if gid == 65534 {
		groupName = "nogroup"
	}
	passwd := "root:x:0:0:root:/root:/usr/sbin/nologin\n"
	group := "root:x:0:\n"
	if uid != 0 {
		passwd += fmt.Sprintf("%s:x:%d:%d:safe-run user:%s:/bin/sh\n", userName, uid, gid, home)
	}
	if gid != 0 {
		group += fmt.Sprintf("%s:x:%d:\n", groupName, gid)
	}
	p.Files["etc/passwd"] = passwd
	p.Files["etc/group"] = group
	p.Files["etc/hosts"] = fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", r.Hostname)
	p.Files["etc/hostname"] = r.Hostname + "\n"
	for _, name := range []string{"passwd", "group", "hosts", "hostname"} {
		// Relative sources are resolved by runc against the bundle.
		opts = append(opts, spec.WithBind("etc/"+name, "/etc/"+name, false))
	}
	return opts, nil
}

// refusedSources are host paths that must never be bound: engine and
// runtime sockets (root on the host to whoever can reach them) and the
// whole filesystem.
var refusedSources = []string{
	"/", "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
	"/run/podman/podman.sock", "/run/crio/crio.sock", "/run/runc", "/run/safe-run",
}

func refuseBindSource(src string, writable bool, f *host.Facts) error {
	clean := filepath.Clean(src)
	for _, bad := range refusedSources {
		if clean == bad {
			return fmt.Errorf("bind source %s is refused: it would give the container control of the host", clean)
		}
	}
	if writable && f.Home != "" && clean == filepath.Clean(f.Home) {
		return fmt.Errorf("bind source %s (the whole home) cannot be writable: bind the subdirectory the program needs", clean)
	}
	return nil
}
