package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// PFC returns libseccomp's "pseudo filter code" for s: the filter Compile
// builds, as readable text (what `safe-run profile show --pfc` prints).
func PFC(s *specs.LinuxSeccomp) (string, error) {
	f, err := newFilter(s)
	if err != nil {
		return "", err
	}
	defer f.Release()
	text, err := export(f.ExportPFC)
	if err != nil {
		return "", fmt.Errorf("libseccomp could not export the filter: %w", err)
	}
	return string(text), nil
}
