package main

import (
	"os"
	"path/filepath"

	"github.com/safe-run/safe-run/internal/runtime"
)

// findInit locates safe-run-init, the static binary that runs as PID 1 in
// every container: $SAFE_RUN_INIT, next to the safe-run binary, or the
// libexec directories packages install it to.
func findInit() (string, error) {
	candidates := []string{os.Getenv("SAFE_RUN_INIT")}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "safe-run-init"))
	}
	candidates = append(candidates, "/usr/local/libexec/safe-run/safe-run-init", "/usr/libexec/safe-run/safe-run-init")
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return filepath.Abs(c)
		}
	}
	return "", runtime.ToolError("safe-run-init not found next to safe-run or in /usr/local/libexec/safe-run: " +
		"build it with `make` (or set SAFE_RUN_INIT to its path)")
}
