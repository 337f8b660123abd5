package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features returns `RUNTIME features`, cached in cacheDir under the
// binary's identity (path, size, mtime): asking runc costs a process
// start, which every run would otherwise pay.
func Features(runtimePath, cacheDir string) (*features.Features, error) {
	fi, err := os.Stat(runtimePath)
	if err != nil {
		return nil, ToolError("OCI runtime %s: %v", runtimePath, err)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", runtimePath, fi.Size(), fi.ModTime().UnixNano())))
	cache := filepath.Join(cacheDir, "features-"+hex.EncodeToString(sum[:8])+".json")
	data, err := os.ReadFile(cache)
	if err != nil {
		data, err = exec.Command(runtimePath, "features").Output()
		if err != nil {
			return nil, ToolError("%s features failed (%v): safe-run needs an OCI runtime that reports its features (runc >= 1.1)", runtimePath, err)
		}
		// Write the cache through a unique temporary name and rename, so
		// concurrent runs never see a half-written file.
		tmp, terr := os.CreateTemp(cacheDir, ".features-*")
		if terr == nil {
			_, werr := tmp.Write(data)
			cerr := tmp.Close()
			if werr == nil && cerr == nil {
				_ = os.Rename(tmp.Name(), cache)
			} else {
				_ = os.Remove(tmp.Name())
			}
		}
	}
	var f features.Features
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, ToolError("cannot parse %s features: %v", runtimePath, err)
	}
	return &f, nil
}

// Supports checks that the runtime can enforce everything s asks for,
// and names what it cannot: runc silently ignores some unknown fields, and
// a control silently dropped is a control not in force.
func Supports(f *features.Features, s *specs.Spec) error {
	var missing []string
	l := f.Linux
	if l == nil {
		return ToolError("the OCI runtime reports no Linux features")
	}
	for _, ns := range s.Linux.Namespaces {
		if !slices.Contains(l.Namespaces, string(ns.Type)) {
			missing = append(missing, "namespace "+string(ns.Type))
		}
	}
	if sc := s.Linux.Seccomp; sc != nil {
		if l.Seccomp == nil || l.Seccomp.Enabled == nil || !*l.Seccomp.Enabled {
			missing = append(missing, "seccomp (the runtime was built without libseccomp)")
		} else {
			need := []string{string(sc.DefaultAction)}
			for _, r := range sc.Syscalls {
				need = append(need, string(r.Action))
			}
			for _, a := range need {
				if !slices.Contains(l.Seccomp.Actions, a) {
					missing = append(missing, "seccomp action "+a)
				}
			}
			for _, r := range sc.Syscalls {
				for _, a := range r.Args {
					if !slices.Contains(l.Seccomp.Operators, string(a.Op)) {
						missing = append(missing, "seccomp operator "+string(a.Op))
					}
				}
			}
			for _, a := range sc.Architectures {
				if !slices.Contains(l.Seccomp.Archs, string(a)) {
					missing = append(missing, "seccomp architecture "+string(a))
				}
			}
		}
	}
	if c := s.Process.Capabilities; c != nil && len(l.Capabilities) > 0 {
		for _, name := range c.Bounding {
			if !slices.Contains(l.Capabilities, name) {
				missing = append(missing, "capability "+name)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		missing = slices.Compact(missing)
		return ToolError("the OCI runtime cannot enforce: %s; upgrade it or use another runtime (--runtime)", strings.Join(missing, ", "))
	}
	return nil
}
