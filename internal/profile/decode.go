package profile

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/safe-run/safe-run/internal/suggest"
)

// FieldError is one problem in a profile, located in its source file.
type FieldError struct {
	File      string // file name, or "<embedded>/NAME.yaml" for shipped profiles
	Line, Col int    // 1-based; 0 when the error concerns the merged result
	Path      string // field path, e.g. "resources.memory" or "tmpfs[1].size"
	Msg       string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Decode parses one profile document strictly: unknown keys, duplicate keys,
// wrong types and bad values are all reported (joined), each with
// file:line:col and the field path. name is used only in messages.
func Decode(name string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 says "yaml: line N: msg"; keep its line, add the file.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return nil, &FieldError{File: name, Msg: "not valid YAML: " + msg}
	}
	f := &File{}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return f, nil // an empty file is an empty profile
	}
	d := &decoder{file: name, origin: map[string]Pos{}}
	d.value(doc.Content[0], reflect.ValueOf(f).Elem(), "")
	d.duplicateTargets(f)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	f.origin = d.origin
	return f, nil
}

type decoder struct {
	file   string
	errs   []error
	origin map[string]Pos
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Col: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var scalarValueType = reflect.TypeOf((*scalarValue)(nil)).Elem()

// value decodes n into v (addressable), recording errors under path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.origin[path]; !ok {
		d.origin[path] = Pos{File: d.file, Line: n.Line, Col: n.Column, Path: path}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.fail(n, path, "empty value: remove the key to inherit, or give a value")
		return
	}
	if v.Kind() == reflect.Pointer {
		elem := reflect.New(v.Type().Elem())
		d.value(n, elem.Elem(), path)
		v.Set(elem)
		return
	}
	if v.Addr().Type().Implements(scalarValueType) {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a single value, found %s", kindName(n))
			return
		}
		if err := v.Addr().Interface().(scalarValue).parseScalar(n.Value); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list, found %s (write [a, b] or one \"- item\" per line)", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "expected a mapping of names to values, found %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			if m.MapIndex(reflect.ValueOf(key)).IsValid() {
				d.fail(k, joinPath(path, key), "duplicate key")
				continue
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(val, elem, joinPath(path, key))
			m.SetMapIndex(reflect.ValueOf(key), elem)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a string, found %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.fail(n, path, "expected true or false, found %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.fail(n, path, "expected a whole number, found %s", describe(n))
			return
		}
		v.SetInt(i)
	default:
		panic("profile: no decoder for " + v.Type().String())
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping of keys to values, found %s", kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fp := joinPath(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, fp, "unknown field%s", suggestField(k.Value, fieldNames(fields)))
			continue
		}
		if seen[k.Value] {
			d.fail(k, fp, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.origin[fp] = Pos{File: d.file, Line: k.Line, Col: k.Column, Path: fp}
		d.value(val, v.Field(idx), fp)
	}
}

// duplicateTargets reports two mounts at the same place in one file (a
// merge would otherwise silently keep only the last).
func (d *decoder) duplicateTargets(f *File) {
	first := map[string]string{}
	check := func(target, path string) {
		if target == "" {
			return
		}
		if prev, ok := first[target]; ok {
			pos := d.origin[path]
			d.errs = append(d.errs, &FieldError{File: d.file, Line: pos.Line, Col: pos.Col, Path: path,
				Msg: fmt.Sprintf("%q is already a tmpfs or bind target (%s): keep one", target, prev)})
			return
		}
		first[target] = path
	}
	for i, t := range f.Tmpfs {
		check(t.Path, fmt.Sprintf("tmpfs[%d].path", i))
	}
	for i, b := range f.Binds {
		check(b.Target, fmt.Sprintf("binds[%d].target", i))
	}
	// One file allowing and denying the same syscall contradicts itself.
	if sc := f.Seccomp; sc != nil {
		allowed := map[string]bool{}
		for _, a := range sc.Allow {
			allowed[a] = true
		}
		for i, n := range sc.Deny {
			if allowed[n] {
				path := fmt.Sprintf("seccomp.deny[%d]", i)
				pos := d.origin[path]
				d.errs = append(d.errs, &FieldError{File: d.file, Line: pos.Line, Col: pos.Col, Path: path,
					Msg: fmt.Sprintf("%q is also in seccomp.allow of this file: keep it in one of them", n)})
			}
		}
	}
}

// yamlFields maps yaml tag names to struct field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

func fieldNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return describe(n)
}

func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return strconv.Quote(n.Value)
}

// suggestField returns " (did you mean "x"?)" for the closest field name,
// or the list of valid names when nothing is close.
func suggestField(got string, candidates []string) string {
	if hint := suggest.Hint(got, candidates); hint != "" {
		return hint
	}
	return " (valid: " + strings.Join(candidates, ", ") + ")"
}
