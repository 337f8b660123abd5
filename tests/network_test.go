package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The private network (--network private) through pasta. Every connection
// these tests make stays on this machine: the host reaches the container
// through a port published on 127.0.0.1. The container never connects
// anywhere, and nothing is sent to another address (no DNS query either:
// resolv.conf is only read).

// requirePrivateNetwork skips when pasta cannot work for mode m, after
// checking that safe-run says why with exit 125.
func requirePrivateNetwork(t *testing.T, e *env) {
	t.Helper()
	if _, err := exec.LookPath("pasta"); err != nil {
		r := e.run("run", "--network", "private", "--", "true")
		wantCode(t, r, 125)
		wantContains(t, "stderr", r.stderr, "needs pasta (apt-get install passt)")
		t.Skip("pasta is not installed (apt-get install passt)")
	}
	if e.mode.rootless && !tunUsableBy(testUser.uid, testUser.gid) {
		r := e.run("run", "--network", "private", "--", "true")
		wantCode(t, r, 125)
		wantContains(t, "stderr", r.stderr, "/dev/net/tun")
		t.Skip("rootless pasta needs /dev/net/tun readable and writable by the test user (chmod 0666 /dev/net/tun, Debian's default); safe-run refuses with exit 125, checked")
	}
}

// tunUsableBy reports whether uid:gid may open /dev/net/tun read-write.
func tunUsableBy(uid, gid int) bool {
	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == uid:
		return mode&0o600 == 0o600
	case int(st.Gid) == gid:
		return mode&0o060 == 0o060
	}
	return mode&0o006 == 0o006
}

// pastaLeft returns the pasta processes of env e still running (their
// command line names e's state root: pasta logs into the bundle).
func (e *env) pastaLeft() []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(e.state)) {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + d.Name() + "/stat")
		if bytes.Contains(stat, []byte("(pasta)")) || bytes.Contains(stat, []byte("(passt")) {
			out = append(out, d.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

func (e *env) assertNoPasta() {
	e.t.Helper()
	if left := e.pastaLeft(); len(left) > 0 {
		e.t.Errorf("pasta still running after safe-run exited: %q", left)
	}
}

func TestNetworkPrivate(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			requirePrivateNetwork(t, e)

			t.Run("interface_address_route_resolv", func(t *testing.T) {
				r := e.run("run", "--network", "private", "--dns-search", "example.test", "--add-host", "db:10.0.0.2", "--", "sh", "-c",
					`ls /sys/class/net; echo ---; ip -o -4 addr show scope global; ip -o -6 addr show scope global; echo ---; cat /proc/net/route; echo ---; cat /etc/resolv.conf /etc/hosts`)
				wantCode(t, r, 0)
				parts := strings.Split(r.stdout, "---\n")
				if len(parts) != 4 {
					t.Fatalf("unexpected output: %s", r)
				}
				ifaces := strings.Fields(parts[0])
				var other string
				for _, i := range ifaces {
					if i != "lo" {
						other = i
					}
				}
				if other == "" {
					t.Errorf("only %q inside: no interface besides lo", ifaces)
				}
				if !strings.Contains(parts[1], other) || !strings.Contains(parts[1], "inet") {
					t.Errorf("%s has no global address: %q", other, parts[1])
				}
				var def bool
				for _, line := range strings.Split(parts[2], "\n") {
					f := strings.Fields(line)
					def = def || len(f) > 7 && f[0] == other && f[1] == "00000000" && f[7] == "00000000"
				}
				if !def {
					t.Errorf("no default route through %s: %q", other, parts[2])
				}
				for _, want := range []string{"nameserver 169.254.1.1\n", "search example.test\n", "10.0.0.2\tdb\n", "localhost"} {
					wantContains(t, "resolv.conf + hosts", parts[3], want)
				}
				wantContains(t, "stderr", r.stderr, "network: private")
				e.assertNoPasta()
			})

			t.Run("dns_servers", func(t *testing.T) {
				r := e.run("run", "--network", "private", "--dns", "192.0.2.53", "--dns-option", "ndots:2", "--", "cat", "/etc/resolv.conf")
				wantCode(t, r, 0)
				wantContains(t, "resolv.conf", r.stdout, "nameserver 192.0.2.53\noptions ndots:2\n")
				if strings.Contains(r.stdout, "169.254.1.1") {
					t.Errorf("--dns still names pasta's forwarder: %s", r.stdout)
				}
				e.assertNoPasta()
			})

			t.Run("published_port_reached_from_host", func(t *testing.T) {
				port := freePort(t)
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				cmd := e.command(ctx, nil, "run", "--network", "private", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "--", "sh", "-c",
					`mkdir /tmp/www && echo hello-from-the-container > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www`)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				client := &http.Client{Timeout: 2 * time.Second}
				var body string
				var lastErr error
				for i := 0; i < 100 && body == ""; i++ { // bounded: 100 tries, 50 ms apart
					resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
					if err == nil {
						data, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							body = string(data)
							break
						}
						err = fmt.Errorf("status %s", resp.Status)
					}
					lastErr = err
					time.Sleep(50 * time.Millisecond)
				}
				if err := syscall.Kill(e.safeRunPid(cmd), syscall.SIGTERM); err != nil {
					t.Error(err)
				}
				err := cmd.Wait()
				if ctx.Err() != nil {
					t.Fatal("hang guard: safe-run did not exit after SIGTERM")
				}
				if body != "hello-from-the-container\n" {
					t.Fatalf("GET 127.0.0.1:%d: %q, last error %v\nstderr: %s", port, body, lastErr, stderr.String())
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 143 {
					t.Errorf("safe-run after SIGTERM: %v, want exit 143\nstderr: %s", err, stderr.String())
				}
				e.assertStateEmpty()
				e.assertNoPasta()
				// The port is free again.
				if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
					t.Errorf("port %d still bound after the run: %v", port, err)
				} else {
					l.Close()
				}
			})

			t.Run("pasta_failure_is_125_and_the_program_never_runs", func(t *testing.T) {
				l, err := net.Listen("tcp", "127.0.0.1:0") // the port pasta would need
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				port := l.Addr().(*net.TCPAddr).Port
				r := e.run("run", "--network", "private", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "--", "echo", "program-ran")
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "pasta")
				if strings.Contains(r.stdout, "program-ran") {
					t.Errorf("the program ran although its network failed: %s", r)
				}
				e.assertNoPasta()
			})
		})
	}
}

func TestNetworkNoneAndRefusals(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m)
			r := e.run("run", "--network", "none", "--", "sh", "-c", "ls /sys/class/net; cat /proc/net/route")
			wantCode(t, r, 0)
			if f := strings.Fields(r.stdout); len(f) < 1 || f[0] != "lo" || strings.Contains(r.stdout, "00000000") {
				t.Errorf("--network none: want only lo and no route, got %s", r)
			}
			for _, args := range [][]string{
				{"run", "-p", "127.0.0.1:8080:80", "--", "true"},
				{"run", "--network", "none", "--dns", "192.0.2.53", "--", "true"},
			} {
				r := e.run(args...)
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "add --network private")
			}
			// Reaching the host's own services is not offered at all.
			r = e.run("run", "--network", "private", "--add-host", "h:host-gateway", "--", "true")
			wantCode(t, r, 125)
			wantContains(t, "stderr", r.stderr, "host-gateway: not supported yet")
			e.assertNoPasta()
		})
	}
}
