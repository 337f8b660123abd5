package main

import (
	"os"
	"path/filepath"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/host"
	"github.com/safe-run/safe-run/internal/label"
	"github.com/safe-run/safe-run/internal/plan"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/internal/runtime"
)

// labelAllocator is the SELinux label allocator of a state root.
func labelAllocator(state *bundle.Root) *label.Allocator {
	return &label.Allocator{Dir: filepath.Join(state.Dir, "labels"), Backend: label.GoSELinux{}}
}

// allocateLabels draws the container's SELinux labels when it gets any
// (plan.LabelsWanted), reserved in the state root so that no other live
// safe-run container has the same pair. release frees them; it is safe to
// call on every path. `safe-run spec` (state nil) draws a pair without
// reserving it: the printed pair is an example.
func allocateLabels(r *profile.Resolved, f *host.Facts, state *bundle.Root, id string) (label.Labels, func(), error) {
	noop := func() {}
	wanted, err := plan.LabelsWanted(r, f)
	if err != nil || !wanted {
		return label.Labels{}, noop, err
	}
	if state == nil {
		b := label.GoSELinux{}
		p, m, err := b.InitLabels(plan.LabelOptions(r))
		if err != nil {
			return label.Labels{}, noop, runtime.ToolError("selinux: %v", err)
		}
		b.Release(p)
		return label.Labels{Process: p, Mount: m}, noop, nil
	}
	a := labelAllocator(state)
	l, err := a.Allocate(id, plan.LabelOptions(r))
	if err != nil {
		return label.Labels{}, noop, runtime.ToolError("%v", err)
	}
	return l, func() { _ = a.Release(id, l) }, nil
}

// relabelBinds gives the binds that ask for it (relabel: shared|private)
// the container's file label. Without labels (SELinux off) there is
// nothing to do.
func relabelBinds(p *prepared) error {
	if p.labels.Mount == "" {
		return nil
	}
	a := labelAllocator(p.state)
	for _, b := range p.resolved.Binds {
		if b.Relabel == "" {
			continue
		}
		src := plan.BindSource(b.Source, p.facts)
		if err := a.Relabel(src, p.facts.Home, p.labels, b.Relabel == "shared"); err != nil {
			return runtime.ToolError("bind %s: %v", src, err)
		}
	}
	return nil
}

// labelledInit returns safe-run-init as the container may execute it under
// SELinux: the container's domain can only be entered from a file of a
// container type, so a copy in the state root gets the shared file label
// (container_file_t:s0). Without labels the installed binary is used.
func labelledInit(state *bundle.Root, initPath string, l label.Labels) (string, error) {
	if l.Mount == "" || state == nil {
		return initPath, nil
	}
	copyPath, err := state.InstallInit(initPath)
	if err != nil {
		return "", runtime.ToolError("%v", err)
	}
	if err := (label.GoSELinux{}).Relabel(copyPath, l.Mount, true); err != nil {
		return "", runtime.ToolError("selinux: labelling %s: %v", copyPath, err)
	}
	return copyPath, nil
}

// labelBundle gives what the container reads from the bundle a label its
// domain may read: the root skeleton (shared: level s0 when other
// containers use it too) and the synthesized /etc files (its own pair).
// The state root's own label (var_run_t and the like) is not readable by
// container_t.
func labelBundle(b *bundle.Bundle, l label.Labels) error {
	if l.Mount == "" {
		return nil
	}
	backend := label.GoSELinux{}
	if b.Rootfs != "" {
		if err := backend.Relabel(b.Rootfs, l.Mount, b.SharedRootfs); err != nil {
			return runtime.ToolError("selinux: labelling the root skeleton: %v", err)
		}
	}
	etc := filepath.Join(b.Dir, "etc")
	if _, err := os.Stat(etc); err == nil {
		if err := backend.Relabel(etc, l.Mount, false); err != nil {
			return runtime.ToolError("selinux: labelling %s: %v", etc, err)
		}
	}
	return nil
}
