package main

import (
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
