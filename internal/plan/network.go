package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/spec"
)

// Network is what the command line asks of the container's network
// (docker run's -p, --dns, --dns-search, --dns-option, --add-host).
// Publishing and DNS need network: private; extra hosts work with any
// network (they only add /etc/hosts lines).
type Network struct {
	Publish    []Port
	DNS        []string // name servers for /etc/resolv.conf (IP addresses)
	DNSSearch  []string
	DNSOptions []string
	Hosts      []HostEntry
}

// Port is one published port range: connections to HostIP:HostPort on
// the host reach ContainerPort in the container.
type Port struct {
	HostIP                      string // never empty: the caller picks the default
	HostPort, HostEnd           int
	ContainerPort, ContainerEnd int
	Proto                       string // tcp or udp
}

// HostEntry is one extra /etc/hosts line.
type HostEntry struct {
	Name string
	IP   string
}

// DNSForward is the address the container's resolv.conf names when no
// --dns is given: pasta answers it by forwarding the query to the first
// name server of the host's own /etc/resolv.conf (the address podman
// uses too). A link-local address is never a real server's, and the
// container reaches it through its default route (pasta's tap).
const DNSForward = "169.254.1.1"

// NetWaitCheck is the init's check for a private network: it waits
// (bounded) until the namespace has a default route, i.e. until pasta
// has configured it, before the program starts.
const NetWaitCheck = "net=route"

// network plans the network besides the namespace itself: with network:
// private the namespace stays the container's own (the spec's namespaces
// are unchanged), the bundle gets resolv.conf, the init waits for pasta,
// and p.Pasta holds pasta's options. Extra hosts (--add-host NAME:IP)
// go into /etc/hosts with any network.
func (p *Plan) network(r *profile.Resolved, f *host.Facts, req Request) ([]spec.Opt, []string, error) {
	n := req.Network
	if r.Network != profile.NetworkPrivate {
		what := ""
		switch {
		case len(n.Publish) > 0:
			what = "publishing ports (-p)"
		case len(n.DNS) > 0 || len(n.DNSSearch) > 0 || len(n.DNSOptions) > 0:
			what = "DNS settings (--dns, --dns-search, --dns-option)"
		}
		if what != "" {
			return nil, nil, fmt.Errorf("profile %q: %s needs a private network, and the container's network is %q: "+
				"add --network private (or network: private in the profile)", r.Name, what, r.Network)
		}
		return p.etcFiles(r, f, req, false), nil, nil
	}

	// pasta's options; the runtime adds the namespaces to join and the
	// log file. Every forwarding pasta would do on its own is turned off
	// and only what was asked for is on:
	//   -t/-u: pasta's default (auto) would bind on the host every port
	//     the container listens on, on all addresses; only -p ports are.
	//     A TCP port also forwards the same UDP port unless -u says
	//     otherwise, hence an explicit -u none.
	//   -T/-U none: by default pasta also binds, inside the container,
	//     the ports the host listens on and forwards them to the host's
	//     loopback: every local service of the host would be reachable.
	//   --no-map-gw: by default connections to the gateway address go to
	//     the host's loopback, the same exposure.
	args := []string{"--config-net", "--foreground", "--quiet"}
	var tcp, udp []string
	for _, pt := range n.Publish {
		if pt.Proto == "udp" {
			udp = append(udp, "-u", pastaPort(pt))
		} else {
			tcp = append(tcp, "-t", pastaPort(pt))
		}
		if ip, err := netip.ParseAddr(pt.HostIP); err == nil && !ip.IsLoopback() {
			p.Warnings = append(p.Warnings, fmt.Sprintf("-p %s:%s: the port is published on %s, not only on loopback: other machines can connect to it",
				hostPortString(pt), rangeString(pt.ContainerPort, pt.ContainerEnd), pt.HostIP))
		}
	}
	if tcp == nil {
		tcp = []string{"-t", "none"}
	}
	if udp == nil {
		udp = []string{"-u", "none"}
	}
	args = append(args, tcp...)
	args = append(args, udp...)
	args = append(args, "-T", "none", "-U", "none", "--no-map-gw")
	if len(n.DNS) == 0 {
		args = append(args, "--dns-forward", DNSForward)
	}
	if !f.Rootless {
		// This pasta (Debian 12's) drops to nobody before it joins the
		// namespace, and nobody cannot enter a namespace the host's root
		// owns. It stays uid 0 instead, keeping only CAP_NET_BIND_SERVICE
		// and CAP_SYS_ADMIN under its own seccomp filter, in an empty
		// mount namespace.
		args = append(args, "--runas", "0")
	}
	p.Pasta = args
	return p.etcFiles(r, f, req, true), []string{NetWaitCheck}, nil
}

// etcFiles adds /etc/resolv.conf (private network) and the --add-host
// lines of /etc/hosts. The host view has its own hosts file already and
// shows none of the host's network configuration; on a rootfs directory
// (an image) the files are bound only over regular files the image has,
// so that runc never creates a mount point in a shared tree.
func (p *Plan) etcFiles(r *profile.Resolved, f *host.Facts, req Request, private bool) []spec.Opt {
	n := req.Network
	var opts []spec.Opt
	for _, name := range []string{"resolv.conf", "hosts"} {
		rel := "etc/" + name
		if name == "resolv.conf" && !private || name == "hosts" && !private && len(n.Hosts) == 0 {
			continue
		}
		if !p.HostView && !req.RootfsFiles[rel] {
			p.Notices = append(p.Notices, fmt.Sprintf("the root filesystem has no regular file /%s: the container keeps its own (safe-run does not create one in it)", rel))
			continue
		}
		switch name {
		case "resolv.conf":
			p.Files[rel] = resolvConf(n)
		case "hosts":
			if _, ok := p.Files[rel]; !ok {
				p.Files[rel] = baseHosts(r.Hostname)
			}
			p.Files[rel] += extraHosts(n.Hosts)
		}
		if name == "resolv.conf" || !p.HostView { // the host view binds its hosts file already
			opts = append(opts, spec.WithBind(rel, "/"+rel, false))
		}
	}
	return opts
}

// pastaPort renders a published port as pasta's -t/-u spec:
// ADDR/HOSTPORTS:CONTAINERPORTS.
func pastaPort(pt Port) string {
	ports := func(lo, hi int) string {
		if hi > lo {
			return strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
		}
		return strconv.Itoa(lo)
	}
	return pt.HostIP + "/" + ports(pt.HostPort, pt.HostEnd) + ":" + ports(pt.ContainerPort, pt.ContainerEnd)
}

func resolvConf(n Network) string {
	var b strings.Builder
	b.WriteString("# generated by safe-run (network: private)\n")
	servers := n.DNS
	if len(servers) == 0 {
		servers = []string{DNSForward}
	}
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(n.DNSSearch) > 0 {
		b.WriteString("search " + strings.Join(n.DNSSearch, " ") + "\n")
	}
	if len(n.DNSOptions) > 0 {
		b.WriteString("options " + strings.Join(n.DNSOptions, " ") + "\n")
	}
	return b.String()
}

func baseHosts(hostname string) string {
	return fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", hostname)
}

// extraHosts renders --add-host entries in the order given.
func extraHosts(hosts []HostEntry) string {
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(h.IP + "\t" + h.Name + "\n")
	}
	return b.String()
}

// ValidateNetwork checks what the command line asks for, before a plan:
// names and values must fit on one line of resolv.conf or hosts.
func ValidateNetwork(n Network) error {
	word := func(what, v string) error {
		if v == "" || strings.ContainsAny(v, " \t\r\n#;") {
			return fmt.Errorf("%s %q: must be one word (no spaces, '#' or ';')", what, v)
		}
		return nil
	}
	for _, s := range n.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("--dns %q is not an IP address", s)
		}
	}
	for _, s := range n.DNSSearch {
		if err := word("--dns-search", s); err != nil {
			return err
		}
	}
	for _, s := range n.DNSOptions {
		if err := word("--dns-option", s); err != nil {
			return err
		}
	}
	for _, h := range n.Hosts {
		if err := word("--add-host", h.Name); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, pt := range n.Publish {
		if pt.Proto != "tcp" && pt.Proto != "udp" {
			return fmt.Errorf("-p: protocol %q: only tcp and udp ports can be published", pt.Proto)
		}
		if _, err := netip.ParseAddr(pt.HostIP); err != nil {
			return fmt.Errorf("-p: %q is not an IP address", pt.HostIP)
		}
		for port := pt.HostPort; port <= pt.HostEnd; port++ {
			key := pt.HostIP + " " + pt.Proto + "/" + strconv.Itoa(port)
			if seen[key] {
				return fmt.Errorf("-p: host port %s:%d/%s is published twice", pt.HostIP, port, pt.Proto)
			}
			seen[key] = true
		}
	}
	return nil
}

// PublishedSummary describes the published ports, one per line, for the
// run's notices.
func PublishedSummary(n Network) []string {
	var out []string
	for _, pt := range n.Publish {
		out = append(out, fmt.Sprintf("published %s %s -> container port %s", pt.Proto,
			hostPortString(pt), rangeString(pt.ContainerPort, pt.ContainerEnd)))
	}
	return out
}

func hostPortString(pt Port) string {
	ip := pt.HostIP
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return ip + ":" + rangeString(pt.HostPort, pt.HostEnd)
}

func rangeString(lo, hi int) string {
	if hi > lo {
		return fmt.Sprintf("%d-%d", lo, hi)
	}
	return strconv.Itoa(lo)
}
