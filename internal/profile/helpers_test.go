package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safe-run/safe-run/profiles"
)

// writeProfiles writes name -> content into a fresh temp dir and returns it.
func writeProfiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// siteFinder searches dir, then the shipped profiles.
func siteFinder(dirs ...string) *Finder {
	return &Finder{Dirs: dirs, Embedded: profiles.FS}
}

// leafErrors flattens errors.Join trees into their leaves.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// fieldErrors returns the FieldErrors among err's leaves; it fails the test
// when a leaf is not a *FieldError.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	var out []*FieldError
	for _, e := range leafErrors(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("error %q (%T) is not a *FieldError", e, e)
		}
		out = append(out, fe)
	}
	return out
}

// findFieldError returns the FieldError with path p, or nil.
func findFieldError(errs []*FieldError, p string) *FieldError {
	for _, e := range errs {
		if e.Path == p {
			return e
		}
	}
	return nil
}

func wantContains(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not contain %q:\n%v", s, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// knownBug fails a check that once caught a bug in non-test code, keeping
// the explanation of what went wrong.
func knownBug(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("regression: "+format, args...)
}

// at drops Pos.Path so tests can compare locations only.
func at(p Pos) Pos {
	p.Path = ""
	return p
}
