package dockercli

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseVolume(t *testing.T) {
	ok := map[string]Volume{
		"/data:/data":       {Source: "/data", Target: "/data"},
		"/data/:/d:ro":      {Source: "/data", Target: "/d", ReadOnly: true},
		"/data:/d:rw,Z":     {Source: "/data", Target: "/d", Relabel: "private"},
		"/data:/d:z,ro":     {Source: "/data", Target: "/d", ReadOnly: true, Relabel: "shared"},
		"cache:/var/cache":  {Name: "cache", Target: "/var/cache"},
		"/a:/b:rprivate,ro": {Source: "/a", Target: "/b", ReadOnly: true},
	}
	for in, want := range ok {
		got, err := ParseVolume(in)
		if err != nil || got != want {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"/data":          "write SOURCE:TARGET",
		":/d":            "empty source",
		"./x:/d":         "must be absolute",
		"/a:rel":         "must be an absolute path in the container",
		"/a:/":           "cannot be /",
		"/a:/b:ro,rw":    "both ro and rw",
		"/a:/b:z,Z":      "both z and Z",
		"/a:/b:exec":     `unknown option "exec"`,
		"bad name!:/b":   "neither an absolute path nor a volume name",
		"/a:/b:ro:extra": "write SOURCE:TARGET",
	}
	for in, want := range bad {
		if _, err := ParseVolume(in); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "-v ") {
			t.Errorf("ParseVolume(%q) error = %v, want one naming -v and containing %q", in, err, want)
		}
	}
}

func TestParseMount(t *testing.T) {
	ok := map[string]Mount{
		"type=bind,src=/a,dst=/b,readonly":                   {Type: "bind", Source: "/a", Target: "/b", ReadOnly: true},
		"type=bind,source=/a,target=/b,readonly=false":       {Type: "bind", Source: "/a", Target: "/b"},
		"type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770": {Type: "tmpfs", Target: "/run", TmpfsSize: 64 << 20, TmpfsMode: 0o1770},
		"src=vol,dst=/v": {Type: "volume", Source: "vol", Target: "/v"},
	}
	for in, want := range ok {
		got, err := ParseMount(in)
		if err != nil || got != want {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"type=npipe,dst=/x":                     "not supported",
		"type=bind,dst=/x":                      "absolute source=",
		"type=tmpfs,src=/a,dst=/x":              "takes no source",
		"type=bind,src=/a,dst=/x,tmpfs-size=1m": "are for type=tmpfs",
		"type=bind,src=/a":                      "missing target",
		"type=bind,src=/a,dst=/b,colour=red":    `unknown field "colour"`,
		"type=tmpfs,dst=/r,tmpfs-mode=99":       "octal",
	} {
		if _, err := ParseMount(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMount(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParsePublish(t *testing.T) {
	ok := map[string]Publish{
		"80":                {ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		"8080:80":           {HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		"127.0.0.1:8080:80": {HostIP: "127.0.0.1", HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		"127.0.0.1::80/udp": {HostIP: "127.0.0.1", ContainerPort: 80, ContainerEnd: 80, Proto: "udp"},
		"[::1]:8080:80":     {HostIP: "::1", HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		"8000-8001:80-81":   {HostPort: 8000, HostPortEnd: 8001, ContainerPort: 80, ContainerEnd: 81, Proto: "tcp"},
	}
	for in, want := range ok {
		got, err := ParsePublish(in)
		if err != nil || got != want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"0":               "not a port",
		"70000":           "not a port",
		"80/icmp":         "not tcp, udp or sctp",
		"host:8080:80":    "not an IP address",
		"8000-8002:80-81": "differ in length",
		"1:2:3:4":         "write [IP:]",
		"[::1:8080:80":    "IPv6",
	} {
		if _, err := ParsePublish(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePublish(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParseUlimitAndBytes(t *testing.T) {
	if u, err := ParseUlimit("nofile=1024:2048"); err != nil || u != (Ulimit{"nofile", 1024, 2048}) {
		t.Errorf("%+v %v", u, err)
	}
	if u, err := ParseUlimit("core=-1"); err != nil || u.Soft != ^uint64(0) {
		t.Errorf("%+v %v", u, err)
	}
	for in, want := range map[string]string{"nofile": "NAME=SOFT", "files=1": "unknown limit", "nofile=2:1": "above the hard", "nofile=x": "whole numbers"} {
		if _, err := ParseUlimit(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUlimit(%q) = %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string]int64{"512m": 512 << 20, "1g": 1 << 30, "1GB": 1 << 30, "100": 100, "64MiB": 64 << 20, "1.5g": 3 << 29, "4096b": 4096} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12x", "-1m", "m", "0"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}

func TestSecurityOpt(t *testing.T) {
	var o SecurityOpt
	for _, v := range []string{"no-new-privileges", "seccomp=/p.json", "label=type:svirt_t", "label=level:s0:c1,c2"} {
		if err := o.ApplySecurityOpt(v); err != nil {
			t.Fatal(err)
		}
	}
	if o.NoNewPrivileges == nil || !*o.NoNewPrivileges || o.SeccompProfile != "/p.json" || o.LabelType != "svirt_t" || o.LabelLevel != "s0:c1,c2" {
		t.Errorf("%+v", o)
	}
	for in, want := range map[string]string{"apparmor=x": "AppArmor", "seccomp": "seccomp=FILE", "label=user:x": "not supported", "privileged": "unknown option", "no-new-privileges=maybe": "true or false"} {
		if err := (&SecurityOpt{}).ApplySecurityOpt(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestTmpfsEnvFileAddHost(t *testing.T) {
	if tm, err := ParseTmpfs("/run:rw,size=64m,mode=1777,exec"); err != nil || tm != (Tmpfs{"/run", 64 << 20, 0o1777, true}) {
		t.Errorf("%+v %v", tm, err)
	}
	if _, err := ParseTmpfs("/run:suid"); err == nil || !strings.Contains(err.Error(), "always nosuid") {
		t.Errorf("suid tmpfs: %v", err)
	}
	env, err := ParseEnvFile("e.env", "# c\nA=1\n\n  B=two words\nHOME\nMISSING\nC=\"q\"\n", func(k string) (string, bool) {
		return map[string]string{"HOME": "/root"}[k], k == "HOME"
	})
	if want := []string{"A=1", "B=two words", "HOME=/root", `C="q"`}; err != nil || !reflect.DeepEqual(env, want) {
		t.Errorf("env = %q, %v; want %q", env, err, want)
	}
	if _, err := ParseEnvFile("e.env", "=x\n", nil); err == nil || !strings.Contains(err.Error(), "e.env:1") {
		t.Errorf("bad env file: %v", err)
	}
	if h, err := ParseAddHost("db:10.0.0.2"); err != nil || h.Name != "db" || h.IP.String() != "10.0.0.2" {
		t.Errorf("%+v %v", h, err)
	}
	if _, err := ParseAddHost("db:notanip"); err == nil {
		t.Error("bad add-host accepted")
	}
}

// FuzzParsers: no parser panics on any input, and what a parser accepts
// has an absolute, clean, non-root target.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{"/a:/b:ro,Z", "type=bind,src=/a,dst=/b", "127.0.0.1:80:80/udp", "nofile=1:2", "512m", "/run:size=1m", "[::1]:1:1", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseVolume(s); err == nil && (!strings.HasPrefix(v.Target, "/") || v.Target == "/") {
			t.Errorf("ParseVolume(%q) target %q", s, v.Target)
		}
		if m, err := ParseMount(s); err == nil && !strings.HasPrefix(m.Target, "/") {
			t.Errorf("ParseMount(%q) target %q", s, m.Target)
		}
		ParsePublish(s)
		ParseUlimit(s)
		ParseBytes(s)
		ParseTmpfs(s)
		ParseAddHost(s)
		(&SecurityOpt{}).ApplySecurityOpt(s)
	})
}
