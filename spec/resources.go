package spec

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cpuPeriod is the CFS period in microseconds (the kernel default).
const cpuPeriod = 100000

// WithResources sets the memory (bytes, swap included, so the limit
// cannot be dodged by swapping), CPU (cores, as a CFS quota) and pids
// limits; 0 leaves a limit unset.
func WithResources(memory int64, cpus float64, pids int64) Opt {
	return func(s *specs.Spec) error {
		r := s.Linux.Resources
		if memory > 0 {
			mem, swap := memory, memory
			r.Memory = &specs.LinuxMemory{Limit: &mem, Swap: &swap}
		}
		if cpus > 0 {
			quota := int64(cpus * cpuPeriod)
			period := uint64(cpuPeriod)
			r.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
		}
		if pids > 0 {
			limit := pids
			r.Pids = &specs.LinuxPids{Limit: &limit}
		}
		return nil
	}
}

// WithCgroupsPath places the container's cgroup explicitly; without it
// runc nests the container under the caller's own cgroup in each
// hierarchy, which makes cleanup depend on where safe-run was started.
func WithCgroupsPath(p string) Opt {
	return func(s *specs.Spec) error {
		s.Linux.CgroupsPath = p
		return nil
	}
}

// Rlimit is one process resource limit.
type Rlimit struct {
	Name       string // e.g. "nofile" or "RLIMIT_NOFILE"
	Soft, Hard uint64
}

// WithRlimits sets process rlimits, replacing any of the same type. The
// caller must keep them within the host's current hard limits: raising a
// hard limit needs CAP_SYS_RESOURCE, which the runtime may not have.
func WithRlimits(limits ...Rlimit) Opt {
	return func(s *specs.Spec) error {
		for _, l := range limits {
			t := "RLIMIT_" + strings.TrimPrefix(strings.ToUpper(l.Name), "RLIMIT_")
			if l.Soft > l.Hard {
				return fmt.Errorf("%s: soft limit %d above hard limit %d", t, l.Soft, l.Hard)
			}
			replaced := false
			for i := range s.Process.Rlimits {
				if s.Process.Rlimits[i].Type == t {
					s.Process.Rlimits[i], replaced = specs.POSIXRlimit{Type: t, Soft: l.Soft, Hard: l.Hard}, true
				}
			}
			if !replaced {
				s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: t, Soft: l.Soft, Hard: l.Hard})
			}
		}
		return nil
	}
}
