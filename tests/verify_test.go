package tests

import (
	"strings"
	"testing"
)

// TestVerifyBeforeRunRefusesMissingControl removes one control from the
// spec through the test seam SAFE_RUN_TEST_DROP_CONTROL and proves that
// safe-run-init refuses to start the program.
func TestVerifyBeforeRunRefusesMissingControl(t *testing.T) {
	controls := map[string][]string{
		rootful.name:  {"nnp", "seccomp", "caps", "readonly", "pids"},
		rootless.name: {"nnp", "seccomp", "caps", "readonly"}, // no limits rootless
	}
	for _, m := range modes {
		for _, ctl := range controls[m.name] {
			t.Run(m.name+"/without_"+ctl, func(t *testing.T) {
				e := newEnv(t, m)
				r := e.runWith([]string{"SAFE_RUN_TEST_DROP_CONTROL=" + ctl},
					"default", "--", "sh", "-c", "echo RAN")
				wantCode(t, r, 125)
				wantContains(t, "stderr", r.stderr, "refusing to run")
				if strings.Contains(r.stdout, "RAN") {
					t.Errorf("the program ran without %s: %s", ctl, r)
				}
			})
		}
	}
}
