package plan

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func hasNetNS(s *specs.Spec) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return true
		}
	}
	return false
}

func bindOf(s *specs.Spec, dst string) *specs.Mount {
	for i, m := range s.Mounts {
		if m.Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func TestNetworkNoneUnchanged(t *testing.T) {
	p := build(t, load(t, "extends: default\n"), facts(), Request{})
	if p.Pasta != nil || !hasNetNS(p.Spec) || bindOf(p.Spec, "/etc/resolv.conf") != nil {
		t.Errorf("network none: pasta %q, netns %v, resolv.conf bound", p.Pasta, hasNetNS(p.Spec))
	}
	if slices.Contains(p.Spec.Process.Args, NetWaitCheck) {
		t.Errorf("network none waits for a route: %q", p.Spec.Process.Args)
	}
}

func TestNetworkPrivate(t *testing.T) {
	r := load(t, "extends: default\nnetwork: private\n")
	f := facts()
	p := build(t, r, f, Request{})
	if !hasNetNS(p.Spec) {
		t.Fatal("network: private must keep the container's own network namespace")
	}
	args := strings.Join(p.Pasta, " ")
	for _, want := range []string{"--config-net", "--foreground", "-t none", "-u none", "-T none", "-U none", "--no-map-gw",
		"--dns-forward " + DNSForward, "--runas 0"} {
		if !strings.Contains(args, want) {
			t.Errorf("pasta %q lacks %q", args, want)
		}
	}
	if !slices.Contains(p.Spec.Process.Args, NetWaitCheck) {
		t.Errorf("the init does not wait for the network: %q", p.Spec.Process.Args)
	}
	if m := bindOf(p.Spec, "/etc/resolv.conf"); m == nil || m.Source != "etc/resolv.conf" || !slices.Contains(m.Options, "ro") {
		t.Errorf("resolv.conf bind = %+v", m)
	}
	if got := p.Files["etc/resolv.conf"]; !strings.Contains(got, "nameserver "+DNSForward+"\n") {
		t.Errorf("resolv.conf = %q", got)
	}
	var warned bool
	for _, w := range p.Warnings {
		warned = warned || strings.Contains(w, "network: private")
	}
	if !warned {
		t.Errorf("no warning names network: private: %q", p.Warnings)
	}

	// Rootless: pasta keeps the caller's uid.
	p = build(t, r, rootless(true), Request{})
	if slices.Contains(p.Pasta, "--runas") {
		t.Errorf("rootless pasta %q must not change uid", p.Pasta)
	}

	// Ports, DNS, hosts.
	p = build(t, r, f, Request{Network: Network{
		Publish: []Port{
			{HostIP: "127.0.0.1", HostPort: 8080, HostEnd: 8080, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
			{HostIP: "0.0.0.0", HostPort: 5000, HostEnd: 5001, ContainerPort: 53, ContainerEnd: 54, Proto: "udp"},
		},
		DNS: []string{"192.0.2.53"}, DNSSearch: []string{"example.org"}, DNSOptions: []string{"ndots:2"},
		Hosts: []HostEntry{{Name: "db", IP: "10.0.0.2"}},
	}})
	args = strings.Join(p.Pasta, " ")
	for _, want := range []string{"-t 127.0.0.1/8080:80", "-u 0.0.0.0/5000-5001:53-54", "-T none", "-U none"} {
		if !strings.Contains(args, want) {
			t.Errorf("pasta %q lacks %q", args, want)
		}
	}
	for _, bad := range []string{"--dns-forward", "-t none", "-u none"} {
		if strings.Contains(args, bad) {
			t.Errorf("pasta %q has %q", args, bad)
		}
	}
	if got, want := p.Files["etc/resolv.conf"], "nameserver 192.0.2.53\nsearch example.org\noptions ndots:2\n"; !strings.HasSuffix(got, want) {
		t.Errorf("resolv.conf = %q, want ...%q", got, want)
	}
	if got := p.Files["etc/hosts"]; !strings.HasSuffix(got, "10.0.0.2\tdb\n") || !strings.Contains(got, "localhost") {
		t.Errorf("hosts = %q", got)
	}
	var exposed bool
	for _, w := range p.Warnings {
		exposed = exposed || strings.Contains(w, "0.0.0.0:5000-5001") && strings.Contains(w, "other machines")
	}
	if !exposed {
		t.Errorf("warnings %q: want the 0.0.0.0 port named", p.Warnings)
	}
}

func TestNetworkRefusals(t *testing.T) {
	none := load(t, "extends: default\n")
	for _, n := range []Network{
		{Publish: []Port{{HostIP: "127.0.0.1", HostPort: 1, HostEnd: 1, ContainerPort: 1, ContainerEnd: 1, Proto: "tcp"}}},
		{DNS: []string{"192.0.2.53"}},
	} {
		_, err := Build(none, facts(), Request{ID: "t", Network: n})
		if err == nil || !strings.Contains(err.Error(), "add --network private") {
			t.Errorf("%+v with network none: %v", n, err)
		}
	}
	// Extra hosts with an address work with any network.
	p := build(t, none, facts(), Request{Network: Network{Hosts: []HostEntry{{Name: "db", IP: "10.0.0.2"}}}})
	if !strings.HasSuffix(p.Files["etc/hosts"], "10.0.0.2\tdb\n") {
		t.Errorf("hosts = %q", p.Files["etc/hosts"])
	}
}

func TestNetworkRootfsDir(t *testing.T) {
	r := load(t, "extends: default\nnetwork: private\nrootfs: /img\n")
	p := build(t, r, facts(), Request{RootfsFiles: map[string]bool{"etc/resolv.conf": true}})
	if bindOf(p.Spec, "/etc/resolv.conf") == nil {
		t.Error("the image's /etc/resolv.conf is not replaced")
	}
	if bindOf(p.Spec, "/etc/hosts") != nil {
		t.Error("/etc/hosts is bound although the image has none (runc would create it in the shared tree)")
	}
	var noticed bool
	for _, n := range p.Notices {
		noticed = noticed || strings.Contains(n, "no regular file /etc/hosts")
	}
	if !noticed {
		t.Errorf("notices = %q", p.Notices)
	}
}

func TestValidateNetwork(t *testing.T) {
	ok := Network{Publish: []Port{
		{HostIP: "127.0.0.1", HostPort: 80, HostEnd: 80, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		{HostIP: "127.0.0.2", HostPort: 80, HostEnd: 80, ContainerPort: 80, ContainerEnd: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 80, HostEnd: 80, ContainerPort: 80, ContainerEnd: 80, Proto: "udp"},
	}}
	if err := ValidateNetwork(ok); err != nil {
		t.Error(err)
	}
	ok.Publish = append(ok.Publish, Port{HostIP: "127.0.0.1", HostPort: 79, HostEnd: 81, ContainerPort: 79, ContainerEnd: 81, Proto: "tcp"})
	if err := ValidateNetwork(ok); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("overlapping ports: %v", err)
	}
	if got := pastaPort(Port{HostIP: "::1", HostPort: 8080, HostEnd: 8080, ContainerPort: 80, ContainerEnd: 80}); got != "::1/8080:80" {
		t.Errorf("pastaPort = %q", got)
	}
}
