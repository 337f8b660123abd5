package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Waiting for a private network (--check net=route).
//
// With network: private, safe-run starts pasta once the container exists,
// and pasta configures the namespace from outside. The program must not
// start before that: it would find no route (and fail, or worse, cache
// "offline"). So the init waits until the namespace has a default route,
// the last thing pasta sets up, for at most netTimeout, and otherwise
// refuses to run (exit 125): failing closed, like every other check.

// netTimeout bounds the wait; pasta needs milliseconds.
const netTimeout = 10 * time.Second

// netPoll is how often the routes are read while waiting.
const netPoll = 2 * time.Millisecond

// waitNetwork waits for a default route. It returns a failure message
// when there is none in time, or the exit code of a stop signal that
// arrived while waiting (stop reports one): the run then ends as it would
// have with the program running. Both are zero once the route is there.
func (c *checker) waitNetwork(stop func() (int, bool)) (int, string) {
	timeout := c.netTimeout
	if timeout == 0 {
		timeout = netTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := c.hasDefaultRoute()
		if ok {
			return 0, ""
		}
		if stop != nil {
			if code, stopped := stop(); stopped {
				return code, ""
			}
		}
		if time.Now().After(deadline) {
			actual := "the private network has no default route after " + timeout.String()
			if err != nil {
				actual = "the private network's routes are unknown (" + err.Error() + ")"
			}
			return 0, failure(actual, "a route configured by pasta",
				"the program would start without the network it was given; safe-run's messages above say why pasta did not configure it")
		}
		time.Sleep(netPoll)
	}
}

// hasDefaultRoute reports whether the namespace has an IPv4 or IPv6
// default route through an interface other than lo. Both tables are read
// from the init's own /proc/net (its network namespace).
func (c *checker) hasDefaultRoute() (bool, error) {
	v4, err4 := os.ReadFile(c.procPath("net/route"))
	if err4 == nil && defaultRoute4(string(v4)) {
		return true, nil
	}
	v6, err6 := os.ReadFile(c.procPath("net/ipv6_route"))
	if err6 == nil && defaultRoute6(string(v6)) {
		return true, nil
	}
	if err4 != nil && err6 != nil {
		return false, err4
	}
	return false, nil
}

func (c *checker) procPath(rel string) string {
	root := c.procRoot
	if root == "" {
		root = "/proc"
	}
	return root + "/" + rel
}

// defaultRoute4 reads /proc/net/route: Iface Destination Gateway Flags
// ... Mask, hexadecimal; a default route has destination and mask 0 and
// is up (RTF_UP).
func defaultRoute4(table string) bool {
	lines := strings.Split(table, "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] == "lo" || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		if flags, err := strconv.ParseUint(f[3], 16, 32); err == nil && flags&0x1 != 0 {
			return true
		}
	}
	return false
}

// defaultRoute6 reads /proc/net/ipv6_route: dest plen src plen nexthop
// metric refcnt use flags iface; a default route is ::/0, up (RTF_UP),
// not a reject route (RTF_REJECT, which the kernel keeps on lo).
func defaultRoute6(table string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || f[9] == "lo" || f[0] != strings.Repeat("0", 32) || f[1] != "00" {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err == nil && flags&0x1 != 0 && flags&0x200 == 0 {
			return true
		}
	}
	return false
}
