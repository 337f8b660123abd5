package bench

import (
	"testing"

	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

// BenchmarkProfileResolve times finding, decoding, merging and validating
// the embedded default profile.
func BenchmarkProfileResolve(b *testing.B) {
	f := &profile.Finder{Embedded: profiles.FS}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Load("default"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFacts are fixed host facts like those of the benchmark VM (root,
// hybrid cgroups, usr-merged), so the benchmark does not probe the host.
func benchFacts() *host.Facts {
	return &host.Facts{
		UID:      0,
		InitPath: "/usr/libexec/safe-run/safe-run-init",
		Cgroup: host.Cgroup{
			Mode:   "hybrid",
			Usable: map[string]bool{"memory": true, "cpu": true, "pids": true},
		},
		UsrMerge:   map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"},
		EtcEntries: []string{"ld.so.cache", "nsswitch.conf"},
		HardLimits: map[string]uint64{"nofile": 20000, "core": ^uint64(0)},
		Cwd:        "/",
		Home:       "/root",
	}
}

// BenchmarkSpecBuild times plan.Build (the whole OCI spec, seccomp object
// included, without compiling it) for the resolved default profile.
func BenchmarkSpecBuild(b *testing.B) {
	r, err := (&profile.Finder{Embedded: profiles.FS}).Load("default")
	if err != nil {
		b.Fatal(err)
	}
	facts := benchFacts()
	req := plan.Request{ID: "bench", Args: []string{"/bin/true"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plan.Build(r, facts, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveAndBuild is both steps, as one start does them.
func BenchmarkResolveAndBuild(b *testing.B) {
	f := &profile.Finder{Embedded: profiles.FS}
	facts := benchFacts()
	req := plan.Request{ID: "bench", Args: []string{"/bin/true"}}
	b.ReportAllocs()
	for b.Loop() {
		r, err := f.Load("default")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := plan.Build(r, facts, req); err != nil {
			b.Fatal(err)
		}
	}
}
