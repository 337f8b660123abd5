// Package runtime drives the OCI runtime (runc): finding it, learning what
// it supports, running a bundle with stdio passed through, forwarding
// signals, mapping exit codes, and cleaning up on every path.
package runtime

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Find returns the absolute path of the runtime: name may be a path or a
// command looked up in PATH (default "runc").
func Find(name string) (string, error) {
	if name == "" {
		name = "runc"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", ToolError("OCI runtime %q not found: install it (apt-get install runc) or pass --runtime PATH", name)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("runtime path: %w", err)
	}
	return abs, nil
}
