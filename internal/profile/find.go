package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/safe-run/safe-run/internal/caps"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/internal/suggest"
)

// Profile names and the special extends values.
const (
	// EmbeddedPrefix names a shipped profile directly, bypassing site
	// files: a site's own default.yaml builds on "embedded:default".
	EmbeddedPrefix = "embedded:"
	// ExtendsNone starts a profile from nothing but safe-run's built-in
	// strict defaults. Without `extends`, a profile builds on "default".
	ExtendsNone = "none"
	// BaseProfile is what a profile without `extends` builds on.
	BaseProfile = "default"

	maxExtendsDepth = 16
)

// validName reports whether s is a profile name: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit. (Plain code
// rather than a regexp: compiling regexps at start-up costs every run.)
func validName(s string) bool {
	if s == "" || s[0] == '.' || s[0] == '_' || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Finder locates profiles: an explicit path, then each directory of Dirs
// in order, then the profiles embedded in the binary.
type Finder struct {
	Dirs     []string
	Embedded fs.FS
}

// SearchDirs returns the directories searched for profiles by name, in
// order: flag dirs, SAFE_RUN_PROFILE_PATH (colon-separated), the user's
// config dir, /etc/safe-run/profiles.
func SearchDirs(flagDirs []string, envPath, configHome string) []string {
	dirs := append([]string(nil), flagDirs...)
	for _, d := range filepath.SplitList(envPath) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if configHome != "" {
		dirs = append(dirs, filepath.Join(configHome, "safe-run", "profiles"))
	}
	return append(dirs, "/etc/safe-run/profiles")
}

// IsPath reports whether ref names a file rather than a profile name.
func IsPath(ref string) bool {
	return strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml")
}

// Source is where a profile was found.
type Source struct {
	Name     string // profile name (file name without .yaml for paths)
	Path     string // file path, or "embedded:NAME"
	Embedded bool
}

// Find locates ref (a name, "embedded:NAME", or a path) and reads it.
func (f *Finder) Find(ref string) (Source, []byte, error) {
	if IsPath(ref) && !strings.HasPrefix(ref, EmbeddedPrefix) {
		data, err := os.ReadFile(ref)
		if err != nil {
			return Source{}, nil, fmt.Errorf("profile file %s: %w", ref, unwrapPathError(err))
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(ref), ".yaml"), ".yml")
		return Source{Name: name, Path: ref}, data, nil
	}
	name, embeddedOnly := strings.CutPrefix(ref, EmbeddedPrefix)
	if !validName(name) {
		return Source{}, nil, fmt.Errorf("invalid profile name %q: use lower-case letters, digits, '.', '_' and '-', or give a path to a .yaml file", ref)
	}
	if !embeddedOnly {
		for _, dir := range f.Dirs {
			p := filepath.Join(dir, name+".yaml")
			data, err := os.ReadFile(p)
			if err == nil {
				return Source{Name: name, Path: p}, data, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return Source{}, nil, fmt.Errorf("profile %q: %w", name, err)
			}
		}
	}
	if f.Embedded != nil {
		if data, err := fs.ReadFile(f.Embedded, name+".yaml"); err == nil {
			return Source{Name: name, Path: EmbeddedPrefix + name, Embedded: true}, data, nil
		}
	}
	names := f.names()
	return Source{}, nil, fmt.Errorf("profile %q not found%s; searched %s and the shipped profiles (safe-run profile list shows them all)",
		name, suggest.Hint(name, names), strings.Join(f.Dirs, ", "))
}

// Load finds ref, follows its extends chain, merges it, lays the
// overlays (command-line overrides) on top, and validates the result once.
func (f *Finder) Load(ref string, overlays ...*File) (*Resolved, error) {
	chain, err := f.chain(ref)
	if err != nil {
		return nil, err
	}
	merged := &File{}
	var sources []string
	for i := len(chain) - 1; i >= 0; i-- {
		merged = Merge(merged, chain[i].file)
		sources = append(sources, chain[i].src.Path)
	}
	for _, o := range overlays {
		merged = Merge(merged, o)
	}
	r, err := validate(chain[0].src.Name, merged)
	if err != nil {
		return nil, err
	}
	r.Source = chain[0].src.Path
	r.Chain = sources
	return r, nil
}

type link struct {
	src  Source
	file *File
	imp  *SeccompImport // the file's seccomp.import, if any
}

// chain returns ref and its ancestors, leaf first.
func (f *Finder) chain(ref string) ([]link, error) {
	var out []link
	seen := map[string]bool{}
	for depth := 0; ref != ""; depth++ {
		if depth == maxExtendsDepth {
			return nil, fmt.Errorf("profile %q: extends chain is deeper than %d profiles", out[0].src.Name, maxExtendsDepth)
		}
		src, data, err := f.Find(ref)
		if err != nil {
			if len(out) > 0 {
				return nil, fmt.Errorf("%s: extends: %w", out[len(out)-1].src.Path, err)
			}
			return nil, err
		}
		if seen[src.Path] {
			var names []string
			for _, l := range out {
				names = append(names, l.src.Path)
			}
			return nil, fmt.Errorf("profile %q: extends cycle: %s -> %s (a site file that overrides a shipped profile can extend %q)",
				out[0].src.Name, strings.Join(names, " -> "), src.Path, EmbeddedPrefix+src.Name)
		}
		seen[src.Path] = true
		file, err := Decode(src.Path, data)
		if err != nil {
			return nil, err
		}
		imp, err := importSeccomp(src, file)
		if err != nil {
			return nil, err
		}
		out = append(out, link{src, file, imp})
		ref = f.parentOf(src, file)
	}
	return out, nil
}

// SeccompImport is the seccomp.import of one file of a profile's chain.
type SeccompImport struct {
	Profile  string // the profile file
	File     string // the Docker/OCI JSON it imports
	Imported *seccomp.Imported
}

// SeccompImports returns the seccomp.imports of ref's extends chain, the
// root first (for `profile show --seccomp`: the names an import skipped).
func (f *Finder) SeccompImports(ref string) ([]SeccompImport, error) {
	chain, err := f.chain(ref)
	if err != nil {
		return nil, err
	}
	var out []SeccompImport
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].imp != nil {
			out = append(out, *chain[i].imp)
		}
	}
	return out, nil
}

// importSeccomp reads file's seccomp.import (a Docker/OCI seccomp JSON,
// relative to the file's directory) for this architecture and the file's
// own capabilities.add, and puts the names it allows in front of the
// file's seccomp.allow, less those the file's own seccomp.deny lists, so
// that merging and validation treat them as written there; their origin
// is the seccomp.import key.
func importSeccomp(src Source, file *File) (*SeccompImport, error) {
	sc := file.Seccomp
	if sc == nil || sc.Import == nil {
		return nil, nil
	}
	pos, ok := file.origin["seccomp.import"]
	if !ok {
		pos = Pos{File: src.Path, Path: "seccomp.import"}
	}
	fail := func(format string, args ...any) *FieldError {
		return &FieldError{File: pos.File, Line: pos.Line, Col: pos.Col, Path: "seccomp.import", Msg: fmt.Sprintf(format, args...)}
	}
	if src.Embedded {
		return nil, fail("a shipped profile cannot import a file: copy it to a profile directory")
	}
	path := *sc.Import
	if path == "" {
		return nil, fail("empty path: name a Docker/OCI seccomp JSON file")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(src.Path), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("%s: %v", path, unwrapPathError(err))
	}
	var held []string
	if file.Capabilities != nil {
		for _, c := range file.Capabilities.Add {
			if canon, err := caps.Canonical(c); err == nil {
				held = append(held, canon) // a bad name is reported by validation
			}
		}
	}
	imp, err := seccomp.ImportDocker(data, seccomp.NativeArch(), held)
	if err != nil {
		var errs []error
		for _, e := range leaves(err) {
			errs = append(errs, fail("%s: %v", path, e))
		}
		return nil, errors.Join(errs...)
	}
	denied := map[string]bool{}
	for _, d := range sc.Deny {
		for _, n := range expandGroup(d) {
			denied[n] = true
		}
	}
	var names []string
	for _, n := range imp.Allow {
		if !denied[n] {
			names = append(names, n)
		}
	}
	// Shift the written items' origins behind the imported names.
	for i := len(sc.Allow) - 1; i >= 0; i-- {
		from := "seccomp.allow[" + strconv.Itoa(i) + "]"
		if p, ok := file.origin[from]; ok {
			file.origin["seccomp.allow["+strconv.Itoa(i+len(names))+"]"] = p
			delete(file.origin, from)
		}
	}
	if file.origin == nil {
		file.origin = map[string]Pos{}
	}
	for j := range names {
		file.origin["seccomp.allow["+strconv.Itoa(j)+"]"] = pos
	}
	sc.Allow = append(names, sc.Allow...)
	return &SeccompImport{Profile: src.Path, File: path, Imported: imp}, nil
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// parentOf returns the reference file extends, "" for none.
func (f *Finder) parentOf(src Source, file *File) string {
	if file.Extends == nil {
		switch {
		case src.Embedded && src.Name == BaseProfile:
			return ""
		case src.Name == BaseProfile:
			return EmbeddedPrefix + BaseProfile // a site default builds on the shipped one
		}
		return BaseProfile
	}
	ext := *file.Extends
	if ext == ExtendsNone {
		return ""
	}
	if IsPath(ext) && !filepath.IsAbs(ext) && !src.Embedded {
		return filepath.Join(filepath.Dir(src.Path), ext)
	}
	return ext
}

// Entry is one line of `profile list`.
type Entry struct {
	Name        string
	Path        string   // the file that wins
	Shadows     []string // files of the same name that lose to Path
	Description string
}

// List returns every profile reachable by name, sorted.
func (f *Finder) List() ([]Entry, error) {
	byName := map[string]*Entry{}
	add := func(name, path string, data []byte) {
		if e, ok := byName[name]; ok {
			e.Shadows = append(e.Shadows, path)
			return
		}
		e := &Entry{Name: name, Path: path}
		if file, err := Decode(path, data); err == nil && file.Description != nil {
			e.Description = *file.Description
		}
		byName[name] = e
	}
	for _, dir := range f.Dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		sort.Strings(matches)
		for _, p := range matches {
			name := strings.TrimSuffix(filepath.Base(p), ".yaml")
			if !validName(name) {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			add(name, p, data)
		}
	}
	for _, name := range f.embeddedNames() {
		data, _ := fs.ReadFile(f.Embedded, name+".yaml")
		add(name, EmbeddedPrefix+name, data)
	}
	var out []Entry
	for _, e := range byName {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *Finder) embeddedNames() []string {
	if f.Embedded == nil {
		return nil
	}
	matches, _ := fs.Glob(f.Embedded, "*.yaml")
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(m, ".yaml"))
	}
	return names
}

func (f *Finder) names() []string {
	names := f.embeddedNames()
	for _, dir := range f.Dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, m := range matches {
			names = append(names, strings.TrimSuffix(filepath.Base(m), ".yaml"))
		}
	}
	return names
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
