package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/label"
	"github.com/safe-run/safe-run/internal/runtime"
)

// gcGrace protects bundles being created right now (no owner file yet).
const gcGrace = time.Minute

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove containers, bundles and SELinux label reservations left behind by a safe-run that was killed",
		Description: `A bundle whose owning safe-run process is gone is stale: its container is
killed and deleted (runc delete --force), then the bundle is removed.
Containers of live safe-run processes (and detached containers whose
supervisor runs) are never touched; a detached container that exited
without --rm is kept for "safe-run rm" unless its supervisor died before
recording the exit status.`,
		Action: func(c *cli.Context) error {
			state, err := bundle.Open(stateDir(c))
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			rt, err := runtime.Find(c.String("runtime"))
			if err != nil {
				return err
			}
			runner := &runtime.Runner{Runtime: rt, Root: state.RuncRoot()}
			labels := labelAllocator(state)
			ids, err := state.List()
			if err != nil {
				return runtime.ToolError("%v", err)
			}
			removed := 0
			for _, id := range ids {
				b := state.Bundle(id)
				if b.OwnerAlive() {
					continue
				}
				if fi, err := os.Stat(b.Dir); err == nil && time.Since(fi.ModTime()) < gcGrace && !b.HasOwnerFile() {
					continue // still being created
				}
				if m, err := readMeta(b); err == nil && !m.AutoRemove {
					if _, _, _, exited := b.ReadStatus(); exited {
						continue // a detached container that exited: it waits for `safe-run rm`
					}
				}
				if err := runner.DeleteIfPresent(id); err != nil {
					fmt.Fprintf(os.Stderr, "safe-run: gc: %s: %v\n", id, err)
					continue
				}
				if err := b.Remove(); err != nil {
					fmt.Fprintf(os.Stderr, "safe-run: gc: %s: %v\n", id, err)
					continue
				}
				_ = labels.Release(id, label.Labels{})
				removed++
				fmt.Println("removed", id)
			}
			// SELinux reservations whose container never got a bundle
			// (safe-run killed between allocating and creating it).
			reserved, _ := labels.Reserved()
			for _, id := range reserved {
				if _, err := os.Stat(state.Bundle(id).Dir); err == nil {
					continue
				}
				if fi, err := os.Stat(filepath.Join(labels.Dir, id)); err == nil && time.Since(fi.ModTime()) > gcGrace {
					_ = labels.Release(id, label.Labels{})
				}
			}
			if logEnabled(c, "info") {
				fmt.Fprintf(os.Stderr, "safe-run: gc: %d stale container(s) removed\n", removed)
			}
			return nil
		},
	}
}
