// Package dockercli parses the values of `docker run` flags (-v, --mount,
// -p, --ulimit, --memory, --security-opt, --tmpfs, --env-file, --add-host)
// exactly as docker writes them, into plain values. It is pure: no host
// reads; every error names the flag and the value and says what is valid.
// `safe-run run` turns the parsed values into profile overrides.
package dockercli

import (
	"bufio"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/safe-run/safe-run/internal/units"
)

// Error is a malformed flag value.
type Error struct {
	Flag, Value, Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Flag, e.Value, e.Msg)
}

func fail(flag, value, format string, args ...any) error {
	return &Error{Flag: flag, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// Volume is one -v/--volume: a host path or a named volume mounted at
// Target.
type Volume struct {
	Source   string // absolute host path, or empty for a named volume
	Name     string // named volume (Source empty)
	Target   string
	ReadOnly bool
	// Relabel is "" , "shared" (:z) or "private" (:Z).
	Relabel string
}

// ParseVolume parses -v SRC:DST[:OPTS] (OPTS: ro, rw, z, Z, and the
// propagation modes docker accepts, which safe-run always makes private).
func ParseVolume(v string) (Volume, error) {
	const flag = "-v"
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Volume{}, fail(flag, v, "write SOURCE:TARGET[:OPTIONS], e.g. /data:/data:ro (a bare path would be an anonymous volume, which safe-run does not create)")
	}
	vol := Volume{Target: parts[1]}
	src := parts[0]
	switch {
	case src == "":
		return Volume{}, fail(flag, v, "empty source")
	case strings.HasPrefix(src, "/"):
		vol.Source = path.Clean(src)
	case strings.HasPrefix(src, ".") || strings.HasPrefix(src, "~"):
		return Volume{}, fail(flag, v, "the source must be absolute (as in docker): write $PWD/%s", strings.TrimPrefix(src, "./"))
	default:
		if !validVolumeName(src) {
			return Volume{}, fail(flag, v, "%q is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", src)
		}
		vol.Name = src
	}
	if err := checkTarget(flag, v, vol.Target); err != nil {
		return Volume{}, err
	}
	if len(parts) == 3 {
		seenMode := ""
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro", "rw":
				if seenMode != "" && seenMode != o {
					return Volume{}, fail(flag, v, "both ro and rw")
				}
				seenMode, vol.ReadOnly = o, o == "ro"
			case "z", "Z":
				want := map[string]string{"z": "shared", "Z": "private"}[o]
				if vol.Relabel != "" && vol.Relabel != want {
					return Volume{}, fail(flag, v, "both z and Z: z shares the content with every container, Z keeps it to this one")
				}
				vol.Relabel = want
			case "private", "rprivate", "slave", "rslave", "shared", "rshared", "nocopy", "delegated", "cached", "consistent":
				// Accepted for compatibility: safe-run's mounts are always
				// private, volumes are never pre-populated, and the macOS
				// consistency hints mean nothing on Linux.
			default:
				return Volume{}, fail(flag, v, "unknown option %q (valid: ro, rw, z, Z)", o)
			}
		}
	}
	return vol, nil
}

// Mount is one --mount.
type Mount struct {
	Type      string // bind, tmpfs or volume
	Source    string // bind: host path; volume: name
	Target    string
	ReadOnly  bool
	TmpfsSize int64  // bytes, tmpfs only; 0 = default
	TmpfsMode uint32 // tmpfs only; 0 = default
}

// ParseMount parses --mount type=bind|tmpfs|volume,src=...,dst=...,readonly,...
func ParseMount(v string) (Mount, error) {
	const flag = "--mount"
	m := Mount{Type: "volume"} // docker's default type
	for _, field := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		switch key {
		case "type":
			if val != "bind" && val != "tmpfs" && val != "volume" {
				return Mount{}, fail(flag, v, "type %q is not supported (valid: bind, tmpfs, volume)", val)
			}
			m.Type = val
		case "source", "src":
			m.Source = val
		case "destination", "dst", "target":
			m.Target = val
		case "readonly", "ro":
			if !hasVal {
				m.ReadOnly = true
				break
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return Mount{}, fail(flag, v, "readonly=%q: write true or false", val)
			}
			m.ReadOnly = b
		case "tmpfs-size":
			size, err := ParseBytes(val)
			if err != nil {
				return Mount{}, fail(flag, v, "tmpfs-size: %v", err)
			}
			m.TmpfsSize = size
		case "tmpfs-mode":
			mode, err := strconv.ParseUint(val, 8, 32)
			if err != nil || mode > 0o7777 {
				return Mount{}, fail(flag, v, "tmpfs-mode=%q: write octal permission bits, e.g. 1777", val)
			}
			m.TmpfsMode = uint32(mode)
		case "bind-propagation", "consistency", "volume-nocopy", "bind-nonrecursive":
			// Accepted: mounts are private and never recursive into
			// other filesystems' propagation in safe-run.
		case "":
			return Mount{}, fail(flag, v, "empty field")
		default:
			return Mount{}, fail(flag, v, "unknown field %q (valid: type, source, target, readonly, tmpfs-size, tmpfs-mode)", key)
		}
	}
	if err := checkTarget(flag, v, m.Target); err != nil {
		return Mount{}, err
	}
	switch m.Type {
	case "bind":
		if !strings.HasPrefix(m.Source, "/") {
			return Mount{}, fail(flag, v, "a bind mount needs an absolute source=")
		}
		m.Source = path.Clean(m.Source)
	case "volume":
		if m.Source != "" && !validVolumeName(m.Source) {
			return Mount{}, fail(flag, v, "volume name %q is not valid", m.Source)
		}
	case "tmpfs":
		if m.Source != "" {
			return Mount{}, fail(flag, v, "a tmpfs mount takes no source")
		}
	}
	if m.Type != "tmpfs" && (m.TmpfsSize != 0 || m.TmpfsMode != 0) {
		return Mount{}, fail(flag, v, "tmpfs-size and tmpfs-mode are for type=tmpfs")
	}
	return m, nil
}

// Tmpfs is one --tmpfs PATH[:OPTIONS].
type Tmpfs struct {
	Target string
	Size   int64
	Mode   uint32
	Exec   bool
}

// ParseTmpfs parses --tmpfs /run:rw,size=64m,mode=1777[,exec].
func ParseTmpfs(v string) (Tmpfs, error) {
	const flag = "--tmpfs"
	target, opts, _ := strings.Cut(v, ":")
	t := Tmpfs{Target: target}
	if err := checkTarget(flag, v, target); err != nil {
		return Tmpfs{}, err
	}
	if opts == "" {
		return t, nil
	}
	for _, o := range strings.Split(opts, ",") {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "size":
			size, err := ParseBytes(val)
			if err != nil {
				return Tmpfs{}, fail(flag, v, "size: %v", err)
			}
			t.Size = size
		case "mode":
			mode, err := strconv.ParseUint(val, 8, 32)
			if err != nil || mode > 0o7777 {
				return Tmpfs{}, fail(flag, v, "mode=%q: write octal permission bits", val)
			}
			t.Mode = uint32(mode)
		case "exec":
			t.Exec = true
		case "noexec", "rw", "nosuid", "nodev":
			// The defaults (nosuid and nodev are always on).
		case "suid", "dev":
			return Tmpfs{}, fail(flag, v, "%s is refused: safe-run's tmpfs mounts are always nosuid,nodev", key)
		default:
			return Tmpfs{}, fail(flag, v, "unknown option %q (valid: size, mode, exec, noexec, rw)", key)
		}
	}
	return t, nil
}

// Publish is one -p/--publish mapping (ranges expanded by the caller with
// Ports).
type Publish struct {
	HostIP                      string // empty: all addresses
	HostPort, HostPortEnd       int    // 0: a free port
	ContainerPort, ContainerEnd int
	Proto                       string // tcp, udp or sctp
}

// ParsePublish parses -p [IP:][HOSTPORT[-END]:]PORT[-END][/PROTO].
func ParsePublish(v string) (Publish, error) {
	const flag = "-p"
	p := Publish{Proto: "tcp"}
	rest := v
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Proto = rest[i+1:]
		rest = rest[:i]
		if p.Proto != "tcp" && p.Proto != "udp" && p.Proto != "sctp" {
			return Publish{}, fail(flag, v, "protocol %q is not tcp, udp or sctp", p.Proto)
		}
	}
	// An IPv6 host address is written in brackets: [::1]:8080:80.
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return Publish{}, fail(flag, v, "an IPv6 address is written [ADDR]:HOSTPORT:PORT")
		}
		p.HostIP, rest = rest[1:end], rest[end+2:]
		if _, err := netip.ParseAddr(p.HostIP); err != nil {
			return Publish{}, fail(flag, v, "%q is not an IP address", p.HostIP)
		}
	}
	parts := strings.Split(rest, ":")
	switch {
	case len(parts) == 3 && p.HostIP == "":
		p.HostIP = parts[0]
		if _, err := netip.ParseAddr(p.HostIP); err != nil {
			return Publish{}, fail(flag, v, "%q is not an IP address", p.HostIP)
		}
		parts = parts[1:]
	case len(parts) > 2:
		return Publish{}, fail(flag, v, "write [IP:][HOSTPORT:]PORT[/PROTO], e.g. 127.0.0.1:8080:80")
	}
	var err error
	if len(parts) == 2 && parts[0] != "" {
		if p.HostPort, p.HostPortEnd, err = portRange(parts[0]); err != nil {
			return Publish{}, fail(flag, v, "host port: %v", err)
		}
	}
	if p.ContainerPort, p.ContainerEnd, err = portRange(parts[len(parts)-1]); err != nil {
		return Publish{}, fail(flag, v, "container port: %v", err)
	}
	if p.HostPort != 0 && p.HostPortEnd-p.HostPort != p.ContainerEnd-p.ContainerPort {
		return Publish{}, fail(flag, v, "the host and container port ranges differ in length")
	}
	return p, nil
}

func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return 0, 0, fmt.Errorf("%q is not a port (1-65535)", lo)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 {
		return 0, 0, fmt.Errorf("%q is not a port range (LOW-HIGH)", s)
	}
	return a, b, nil
}

// Ulimit is one --ulimit NAME=SOFT[:HARD].
type Ulimit struct {
	Name       string
	Soft, Hard uint64
}

var ulimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// ParseUlimit parses --ulimit nofile=1024:2048 (-1 is unlimited, as in docker).
func ParseUlimit(v string) (Ulimit, error) {
	const flag = "--ulimit"
	name, limits, ok := strings.Cut(v, "=")
	if !ok {
		return Ulimit{}, fail(flag, v, "write NAME=SOFT[:HARD], e.g. nofile=1024:2048")
	}
	known := false
	for _, n := range ulimitNames {
		known = known || n == name
	}
	if !known {
		return Ulimit{}, fail(flag, v, "unknown limit %q (valid: %s)", name, strings.Join(ulimitNames, ", "))
	}
	softText, hardText, hasHard := strings.Cut(limits, ":")
	if !hasHard {
		hardText = softText
	}
	soft, err1 := limitValue(softText)
	hard, err2 := limitValue(hardText)
	if err1 != nil || err2 != nil {
		return Ulimit{}, fail(flag, v, "limits are whole numbers or -1 (unlimited)")
	}
	if soft > hard {
		return Ulimit{}, fail(flag, v, "the soft limit is above the hard limit")
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

func limitValue(s string) (uint64, error) {
	if s == "-1" {
		return ^uint64(0), nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// ParseBytes parses docker's memory sizes (see units.ParseBytes); the
// error quotes the value.
func ParseBytes(s string) (int64, error) {
	n, err := units.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	return n, nil
}

// SecurityOpt is the sum of --security-opt values.
type SecurityOpt struct {
	NoNewPrivileges *bool
	SeccompProfile  string // a file, or "unconfined"
	LabelDisable    bool
	LabelType       string
	LabelLevel      string
}

// ApplySecurityOpt adds one --security-opt value to o.
func (o *SecurityOpt) ApplySecurityOpt(v string) error {
	const flag = "--security-opt"
	key, val, hasVal := strings.Cut(v, "=")
	if !hasVal {
		key, val, hasVal = strings.Cut(v, ":") // the old colon form
	}
	switch key {
	case "no-new-privileges":
		b := true
		if hasVal {
			var err error
			if b, err = strconv.ParseBool(val); err != nil {
				return fail(flag, v, "no-new-privileges takes true or false")
			}
		}
		o.NoNewPrivileges = &b
	case "seccomp":
		if !hasVal || val == "" {
			return fail(flag, v, "write seccomp=FILE or seccomp=unconfined")
		}
		o.SeccompProfile = val
	case "label":
		lk, lv, ok := strings.Cut(val, ":")
		switch {
		case val == "disable":
			o.LabelDisable = true
		case ok && lk == "type":
			o.LabelType = lv
		case ok && lk == "level":
			o.LabelLevel = lv
		default:
			return fail(flag, v, "label takes type:TYPE, level:LEVEL or disable (user: and role: are not supported)")
		}
	case "apparmor":
		return fail(flag, v, "AppArmor profiles are not supported by safe-run (its seccomp, namespaces and SELinux apply)")
	default:
		return fail(flag, v, "unknown option %q (valid: no-new-privileges, seccomp=, label=)", key)
	}
	return nil
}

// ParseEnvFile reads an --env-file the way docker does: one NAME=VALUE per
// line, "NAME" alone passes the caller's value (lookup), blank lines and
// lines starting with # are skipped, no quote processing.
func ParseEnvFile(name, content string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(content))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, val, hasVal := strings.Cut(text, "=")
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("--env-file %s:%d: %q is not NAME=VALUE", name, line, text)
		}
		if !hasVal {
			v, ok := lookup(key)
			if !ok {
				continue
			}
			val = v
		}
		out = append(out, key+"="+val)
	}
	return out, sc.Err()
}

// AddHost is one --add-host NAME:IP.
type AddHost struct {
	Name string
	IP   netip.Addr
}

// ParseAddHost parses --add-host NAME:IP (also NAME=IP).
func ParseAddHost(v string) (AddHost, error) {
	const flag = "--add-host"
	name, ip, ok := strings.Cut(v, "=")
	if !ok {
		name, ip, ok = strings.Cut(v, ":")
	}
	if !ok || name == "" {
		return AddHost{}, fail(flag, v, "write NAME:IP, e.g. db:10.0.0.2")
	}
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		if ip == "host-gateway" {
			return AddHost{}, fail(flag, v, "host-gateway needs --network private")
		}
		return AddHost{}, fail(flag, v, "%q is not an IP address", ip)
	}
	return AddHost{Name: name, IP: addr}, nil
}

func checkTarget(flag, v, target string) error {
	switch {
	case target == "":
		return fail(flag, v, "missing target path")
	case !strings.HasPrefix(target, "/"):
		return fail(flag, v, "the target %q must be an absolute path in the container", target)
	case path.Clean(target) == "/":
		return fail(flag, v, "the target cannot be / (it would hide the root filesystem)")
	}
	return nil
}

func validVolumeName(s string) bool {
	if s == "" || !(unicode.IsLetter(rune(s[0])) || unicode.IsDigit(rune(s[0]))) {
		return false
	}
	for _, c := range s {
		if !(c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}
