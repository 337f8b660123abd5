package runtime

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/safe-run/safe-run/internal/seccomp"
)

func runcLike(seccompOn bool) *features.Features {
	on := seccompOn
	return &features.Features{Linux: &features.Linux{
		Namespaces:   []string{"pid", "network", "ipc", "uts", "mount", "cgroup", "user"},
		Capabilities: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Seccomp: &features.Seccomp{Enabled: &on, Actions: []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"},
			Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ"}, Archs: []string{"SCMP_ARCH_X86_64"}},
	}}
}

func hardened() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_NET_BIND_SERVICE"}}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.CgroupNamespace}},
			Seccomp:    seccomp.Build(seccomp.Policy{Allow: []string{"read", "clone", "socket"}, DenyErrno: 1, DefaultErrno: 38, Arches: []specs.Arch{specs.ArchX86_64}, Families: seccomp.DefaultFamilies}),
		},
	}
}

func TestSupports(t *testing.T) {
	if err := Supports(runcLike(true), hardened()); err != nil {
		t.Fatalf("a capable runtime was refused: %v", err)
	}
	err := Supports(runcLike(false), hardened())
	if err == nil || !strings.Contains(err.Error(), "seccomp (the runtime was built without libseccomp)") {
		t.Errorf("runtime without seccomp: %v", err)
	}
	f := runcLike(true)
	f.Linux.Namespaces = []string{"pid"}
	f.Linux.Seccomp.Operators = []string{"SCMP_CMP_EQ"}
	f.Linux.Capabilities = []string{"CAP_CHOWN"}
	err = Supports(f, hardened())
	for _, want := range []string{"namespace cgroup", "seccomp operator SCMP_CMP_MASKED_EQ", "capability CAP_NET_BIND_SERVICE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if e, ok := err.(*ExitError); !ok || e.ExitCode() != ExitToolError {
		t.Errorf("refusal must exit 125: %#v", err)
	}
}
