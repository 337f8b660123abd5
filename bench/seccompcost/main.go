// Command seccompcost measures what a seccomp filter costs per syscall,
// inside real runc containers, side by side: safe-run's default filter,
// no filter, and Docker's default profile (moby's own code builds it,
// github.com/moby/profiles/seccomp), for a plain allowed call (getppid)
// and for calls that go through argument rules (personality, ioctl).
//
//	sudo go run ./bench/seccompcost -probe /path/to/static/probe [-rounds 7] [-calls 2000000]
//
// Each round runs every (filter, call) pair once, in a fresh shuffled
// order; the table gives median ns/call and the median of per-round
// ratios against "none". It must run as root (runc, cgroups).
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	dockerseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

// call is one measured syscall: x86_64 number and arguments.
type call struct {
	name string
	args []string // nr, then up to three arguments
}

var calls = []call{
	{"getppid (plain allow)", []string{"110"}},
	{"personality(0xffffffff) (argument rule)", []string{"135", "0xffffffff"}},
	{"ioctl(0, TCGETS) (argument rule)", []string{"16", "0", "0x5401", "0"}},
}

var filters = []string{"none", "safe-run", "docker"}

func main() {
	probe := flag.String("probe", "", "static probe binary (tests/probe/probe.c)")
	initPath := flag.String("init", "", "safe-run-init binary")
	rounds := flag.Int("rounds", 7, "rounds")
	n := flag.Int("calls", 2000000, "syscalls per measurement")
	flag.Parse()
	if *probe == "" || *initPath == "" {
		fmt.Fprintln(os.Stderr, "usage: seccompcost -probe PROBE -init SAFE-RUN-INIT [-rounds N] [-calls N]")
		os.Exit(2)
	}
	if err := run(*probe, *initPath, *rounds, *n); err != nil {
		fmt.Fprintln(os.Stderr, "seccompcost:", err)
		os.Exit(1)
	}
}

func run(probe, initPath string, rounds, n int) error {
	state, err := os.MkdirTemp("", "seccompcost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	root, err := bundle.Open(filepath.Join(state, "state"))
	if err != nil {
		return err
	}
	facts, err := host.Probe(initPath)
	if err != nil {
		return err
	}
	overlay := profile.Overlay()
	overlay.Binds = []profile.Bind{{Source: filepath.Dir(probe), Target: "/probe"}}
	r, err := (&profile.Finder{Embedded: profiles.FS}).Load("default", overlay)
	if err != nil {
		return err
	}
	type key struct{ filter, call string }
	samples := map[key][]float64{}
	for round := 0; round < rounds; round++ {
		type job struct {
			filter string
			c      call
		}
		var jobs []job
		for _, f := range filters {
			for _, c := range calls {
				jobs = append(jobs, job{f, c})
			}
		}
		rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
		for i, j := range jobs {
			id := fmt.Sprintf("sc%d-%d", round, i)
			args := append([]string{"/probe/" + filepath.Base(probe), "loop", j.c.args[0], strconv.Itoa(n)}, j.c.args[1:]...)
			p, err := plan.Build(r, facts, plan.Request{ID: id, Args: args, BindSources: map[string]bool{filepath.Dir(probe): true}})
			if err != nil {
				return err
			}
			if err := setFilter(p.Spec, j.filter); err != nil {
				return err
			}
			ns, err := runOnce(root, id, p)
			if err != nil {
				return fmt.Errorf("%s / %s: %w", j.filter, j.c.name, err)
			}
			samples[key{j.filter, j.c.name}] = append(samples[key{j.filter, j.c.name}], ns)
		}
	}
	fmt.Printf("per-syscall cost inside runc, %d rounds x %d calls, medians (ns/call) and paired ratios vs no filter\n\n", rounds, n)
	fmt.Println("| call | none | safe-run default | docker default | safe-run / none | docker / none | safe-run / docker |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, c := range calls {
		none, sr, dk := samples[key{"none", c.name}], samples[key{"safe-run", c.name}], samples[key{"docker", c.name}]
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.2fx | %.2fx | %.2fx |\n", c.name, median(none), median(sr), median(dk),
			medianRatio(sr, none), medianRatio(dk, none), medianRatio(sr, dk))
	}
	return nil
}

// setFilter puts the named filter into the spec (and keeps the init's
// seccomp check consistent with it).
func setFilter(s *specs.Spec, filter string) error {
	switch filter {
	case "none":
		s.Linux.Seccomp = nil
		var args []string
		for i := 0; i < len(s.Process.Args); i++ {
			if s.Process.Args[i] == "--check" && s.Process.Args[i+1] == "seccomp=2" {
				i++
				continue
			}
			args = append(args, s.Process.Args[i])
		}
		s.Process.Args = args
	case "docker":
		// moby's own code: the default profile resolved for this spec
		// (no capabilities), with its three x86 architectures.
		d, err := dockerseccomp.GetDefaultProfile(s)
		if err != nil {
			return err
		}
		s.Linux.Seccomp = d
	}
	return nil
}

func runOnce(root *bundle.Root, id string, p *plan.Plan) (float64, error) {
	b, err := root.Create(id, bundle.Contents{Spec: p.Spec, Files: p.Files, Symlinks: p.Symlinks, Skeleton: p.HostView, ShareSkeleton: p.ReadonlyRoot})
	if err != nil {
		return 0, err
	}
	defer b.Remove()
	out, err := exec.Command("runc", "--root", root.RuncRoot(), "run", "--bundle", b.Dir, id).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("runc: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "ns/call: "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no ns/call in output: %s", out)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func medianRatio(a, b []float64) float64 {
	var r []float64
	for i := range a {
		if i < len(b) && b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return median(r)
}
