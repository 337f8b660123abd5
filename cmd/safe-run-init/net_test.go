package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	route4Head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	route4Def  = "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	route4Net  = "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	route6Lo   = "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
	route6Rej  = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	route6Def  = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n"
)

func TestDefaultRoutes(t *testing.T) {
	if !defaultRoute4(route4Head+route4Net+route4Def) || defaultRoute4(route4Head+route4Net) || defaultRoute4(route4Head) || defaultRoute4("") {
		t.Error("defaultRoute4")
	}
	if !defaultRoute6(route6Lo+route6Def) || defaultRoute6(route6Lo+route6Rej) || defaultRoute6("") {
		t.Error("defaultRoute6")
	}
}

func fakeProc(t *testing.T, route, route6 string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "net"), 0o755)
	if route != "" {
		os.WriteFile(filepath.Join(dir, "net/route"), []byte(route), 0o644)
	}
	if route6 != "" {
		os.WriteFile(filepath.Join(dir, "net/ipv6_route"), []byte(route6), 0o644)
	}
	return dir
}

func TestWaitNetwork(t *testing.T) {
	// Ready at once (IPv4, or IPv6 only).
	for _, tables := range [][2]string{{route4Head + route4Def, ""}, {route4Head, route6Lo + route6Def}} {
		c := &checker{procRoot: fakeProc(t, tables[0], tables[1]), netTimeout: time.Second}
		if code, f := c.waitNetwork(nil); code != 0 || f != "" {
			t.Errorf("%q: %d %q", tables, code, f)
		}
	}
	// Never ready: fails closed once the timeout is over.
	c := &checker{procRoot: fakeProc(t, route4Head+route4Net, route6Lo+route6Rej), netTimeout: 50 * time.Millisecond}
	start := time.Now()
	code, f := c.waitNetwork(nil)
	if code != 0 || !strings.Contains(f, "no default route after 50ms") || time.Since(start) < 50*time.Millisecond {
		t.Errorf("no route: %d %q", code, f)
	}
	// Unreadable tables.
	c = &checker{procRoot: t.TempDir(), netTimeout: 10 * time.Millisecond}
	if _, f := c.waitNetwork(nil); !strings.Contains(f, "routes are unknown") {
		t.Errorf("no tables: %q", f)
	}
	// A stop signal ends the wait with its status.
	c = &checker{procRoot: fakeProc(t, route4Head, ""), netTimeout: time.Minute}
	if code, f := c.waitNetwork(func() (int, bool) { return 143, true }); code != 143 || f != "" {
		t.Errorf("stopped: %d %q", code, f)
	}
	// The route arriving while waiting.
	dir := fakeProc(t, route4Head, "")
	c = &checker{procRoot: dir, netTimeout: 5 * time.Second}
	go func() {
		time.Sleep(20 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "net/route.tmp"), []byte(route4Head+route4Def), 0o644)
		os.Rename(filepath.Join(dir, "net/route.tmp"), filepath.Join(dir, "net/route"))
	}()
	if code, f := c.waitNetwork(nil); code != 0 || f != "" {
		t.Errorf("late route: %d %q", code, f)
	}
}

func TestParseNetCheck(t *testing.T) {
	sp, _, err := parseArgs([]string{"--check", "net=route", "--", "true"})
	if err != nil || !sp.net {
		t.Fatalf("net=route: %+v %v", sp, err)
	}
	for _, bad := range [][]string{{"--check", "net=up", "--", "true"}, {"--check", "net=route", "--check", "net=route", "--", "true"}} {
		if _, _, err := parseArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
