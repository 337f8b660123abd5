// Package examples holds runnable example profiles; this test loads every
// one of them, so an example can never rot into an invalid profile.
package examples

import (
	"path/filepath"
	"testing"

	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example profiles found: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			r, err := (&profile.Finder{Embedded: profiles.FS}).Load("./" + f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Description == "" {
				t.Error("an example must say what it is for (description)")
			}
		})
	}
}
