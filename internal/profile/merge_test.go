package profile

import (
	"reflect"
	"testing"
)

func mustDecode(t *testing.T, name, src string) *File {
	t.Helper()
	f, err := Decode(name, []byte(src))
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return f
}

// deepCopy returns an independent copy of f (origins included) by
// decoding-equivalent reflection copy.
func deepCopy(f *File) *File {
	c := copyValue(reflect.ValueOf(f)).Interface().(*File)
	if f.origin != nil {
		c.origin = make(map[string]Pos, len(f.origin))
		for k, v := range f.origin {
			c.origin[k] = v
		}
	}
	return c
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(copyValue(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			f := n.Field(i)
			if f.CanSet() {
				f.Set(copyValue(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		// Keep spare capacity so that an append through an alias would
		// be visible in the original's backing array but not in the copy.
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Cap())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(copyValue(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			n.SetMapIndex(k, copyValue(v.MapIndex(k)))
		}
		return n
	}
	return v
}

const mergeParent = `description: parent
command: [/bin/sh]
env:
  set: {A: pa, B: pb}
  pass: [TERM]
workdir: /
user: "1:1"
hostname: parent
rootfs: host
network: none
tmpfs:
  - path: /tmp
    size: 64m
  - path: /run
    size: 1m
binds:
  - source: /a
    target: /x
  - source: /b
    target: /y
capabilities:
  add: [CAP_CHOWN, CAP_KILL]
masked-paths:
  add: [/proc/kcore, /proc/keys]
readonly-paths:
  add: [/proc/sys]
seccomp:
  allow: [read, write, open]
  default-errno: EPERM
resources:
  memory: 512m
  cpus: 1
  pids: 256
  required: false
rlimits:
  core: 0
  nofile: 1024
unsafe:
  disable-readonly-root: true
  disable-seccomp: false
`

func TestMerge(t *testing.T) {
	tests := []struct {
		name  string
		child string
		check func(t *testing.T, m *File)
	}{
		{
			name:  "empty child inherits everything",
			child: "",
			check: func(t *testing.T, m *File) {
				p := mustDecode(t, "p.yaml", mergeParent)
				p.origin, m.origin = nil, nil
				if !reflect.DeepEqual(m, p) {
					t.Errorf("Merge(p, empty) =\n%#v\nwant\n%#v", m, p)
				}
			},
		},
		{
			name:  "scalars override",
			child: "description: child\nworkdir: /w\nuser: invoking\nhostname: kid\nrootfs: /r\nnetwork: host\n",
			check: func(t *testing.T, m *File) {
				for field, got := range map[string]*string{"description": m.Description, "workdir": m.Workdir,
					"user": m.User, "hostname": m.Hostname, "rootfs": m.Rootfs, "network": m.Network} {
					want := map[string]string{"description": "child", "workdir": "/w", "user": "invoking",
						"hostname": "kid", "rootfs": "/r", "network": "host"}[field]
					if got == nil || *got != want {
						t.Errorf("%s = %v, want %q", field, got, want)
					}
				}
			},
		},
		{
			name:  "extends comes from the child only",
			child: "",
			check: func(t *testing.T, m *File) {
				if m.Extends != nil {
					t.Errorf("extends = %q, want nil (the child does not set it)", *m.Extends)
				}
			},
		},
		{
			name:  "command replaced, not appended",
			child: "command: [/bin/bash, -l]\n",
			check: func(t *testing.T, m *File) {
				if want := []string{"/bin/bash", "-l"}; !reflect.DeepEqual(m.Command, want) {
					t.Errorf("command = %q, want %q", m.Command, want)
				}
			},
		},
		{
			name:  "empty command list overrides",
			child: "command: []\n",
			check: func(t *testing.T, m *File) {
				if m.Command == nil || len(m.Command) != 0 {
					t.Errorf("command = %#v, want an empty non-nil list", m.Command)
				}
			},
		},
		{
			name:  "env.set merged by key, pass inherited",
			child: "env:\n  set: {B: cb, C: cc}\n",
			check: func(t *testing.T, m *File) {
				want := map[string]string{"A": "pa", "B": "cb", "C": "cc"}
				if !reflect.DeepEqual(m.Env.Set, want) {
					t.Errorf("env.set = %v, want %v", m.Env.Set, want)
				}
				if !reflect.DeepEqual(m.Env.Pass, []string{"TERM"}) {
					t.Errorf("env.pass = %v, want [TERM]", m.Env.Pass)
				}
			},
		},
		{
			name:  "env.pass replaced",
			child: "env:\n  pass: [LANG, TZ]\n",
			check: func(t *testing.T, m *File) {
				if !reflect.DeepEqual(m.Env.Pass, []string{"LANG", "TZ"}) {
					t.Errorf("env.pass = %v", m.Env.Pass)
				}
				if !reflect.DeepEqual(m.Env.Set, map[string]string{"A": "pa", "B": "pb"}) {
					t.Errorf("env.set = %v", m.Env.Set)
				}
			},
		},
		{
			name:  "tmpfs merged by path",
			child: "tmpfs:\n  - path: /run\n    size: 2m\n    exec: true\n  - path: /var/tmp\n",
			check: func(t *testing.T, m *File) {
				want := []Tmpfs{{Path: "/tmp", Size: 64 << 20}, {Path: "/run", Size: 2 << 20, Exec: true}, {Path: "/var/tmp"}}
				if !reflect.DeepEqual(m.Tmpfs, want) {
					t.Errorf("tmpfs = %+v, want %+v", m.Tmpfs, want)
				}
			},
		},
		{
			name:  "binds merged by target",
			child: "binds:\n  - source: /c\n    target: /x\n    writable: true\n  - source: /d\n    target: /z\n",
			check: func(t *testing.T, m *File) {
				want := []Bind{{Source: "/c", Target: "/x", Writable: true}, {Source: "/b", Target: "/y"}, {Source: "/d", Target: "/z"}}
				if !reflect.DeepEqual(m.Binds, want) {
					t.Errorf("binds = %+v, want %+v", m.Binds, want)
				}
			},
		},
		{
			name:  "capabilities add and remove",
			child: "capabilities:\n  remove: [CAP_CHOWN]\n  add: [CAP_NET_RAW]\n",
			check: func(t *testing.T, m *File) {
				if want := []string{"CAP_KILL", "CAP_NET_RAW"}; !reflect.DeepEqual(m.Capabilities.Add, want) {
					t.Errorf("capabilities.add = %v, want %v", m.Capabilities.Add, want)
				}
				if m.Capabilities.Remove != nil {
					t.Errorf("capabilities.remove = %v, want nil after merging", m.Capabilities.Remove)
				}
			},
		},
		{
			name:  "capabilities removed entirely",
			child: "capabilities:\n  remove: [CAP_CHOWN, CAP_KILL]\n",
			check: func(t *testing.T, m *File) {
				if len(m.Capabilities.Add) != 0 {
					t.Errorf("capabilities.add = %v, want empty", m.Capabilities.Add)
				}
			},
		},
		{
			name:  "masked and readonly paths add and remove",
			child: "masked-paths:\n  remove: [/proc/keys]\n  add: [/proc/timer_list]\nreadonly-paths:\n  add: [/proc/bus]\n",
			check: func(t *testing.T, m *File) {
				if want := []string{"/proc/kcore", "/proc/timer_list"}; !reflect.DeepEqual(m.MaskedPaths.Add, want) {
					t.Errorf("masked-paths.add = %v, want %v", m.MaskedPaths.Add, want)
				}
				if want := []string{"/proc/sys", "/proc/bus"}; !reflect.DeepEqual(m.ReadonlyPaths.Add, want) {
					t.Errorf("readonly-paths.add = %v, want %v", m.ReadonlyPaths.Add, want)
				}
			},
		},
		{
			name:  "seccomp allow and deny",
			child: "seccomp:\n  deny: [open, write]\n  allow: [openat]\n",
			check: func(t *testing.T, m *File) {
				if want := []string{"read", "openat"}; !reflect.DeepEqual(m.Seccomp.Allow, want) {
					t.Errorf("seccomp.allow = %v, want %v", m.Seccomp.Allow, want)
				}
				if m.Seccomp.Deny != nil {
					t.Errorf("seccomp.deny = %v, want nil after merging", m.Seccomp.Deny)
				}
				if m.Seccomp.DefaultErrno == nil || *m.Seccomp.DefaultErrno != "EPERM" {
					t.Errorf("seccomp.default-errno = %v, want inherited EPERM", m.Seccomp.DefaultErrno)
				}
			},
		},
		{
			name:  "seccomp default-errno only",
			child: "seccomp:\n  default-errno: ENOSYS\n",
			check: func(t *testing.T, m *File) {
				if want := []string{"read", "write", "open"}; !reflect.DeepEqual(m.Seccomp.Allow, want) {
					t.Errorf("seccomp.allow = %v, want %v", m.Seccomp.Allow, want)
				}
				if *m.Seccomp.DefaultErrno != "ENOSYS" {
					t.Errorf("default-errno = %q", *m.Seccomp.DefaultErrno)
				}
			},
		},
		{
			name:  "resources field by field",
			child: "resources:\n  memory: 1g\n  required: true\n",
			check: func(t *testing.T, m *File) {
				r := m.Resources
				if *r.Memory != 1<<30 || *r.CPUs != 1 || *r.Pids != 256 || !*r.Required {
					t.Errorf("resources = memory %d cpus %v pids %d required %v", *r.Memory, *r.CPUs, *r.Pids, *r.Required)
				}
			},
		},
		{
			name:  "resources cpus and pids",
			child: "resources:\n  cpus: 0.25\n  pids: 10\n",
			check: func(t *testing.T, m *File) {
				r := m.Resources
				if *r.Memory != 512<<20 || *r.CPUs != 0.25 || *r.Pids != 10 || *r.Required {
					t.Errorf("resources = memory %d cpus %v pids %d required %v", *r.Memory, *r.CPUs, *r.Pids, *r.Required)
				}
			},
		},
		{
			name:  "rlimits merged by key",
			child: "rlimits:\n  nofile: 10:20\n  nproc: 5\n",
			check: func(t *testing.T, m *File) {
				want := map[string]Rlimit{"core": {0, 0}, "nofile": {10, 20}, "nproc": {5, 5}}
				if !reflect.DeepEqual(m.Rlimits, want) {
					t.Errorf("rlimits = %v, want %v", m.Rlimits, want)
				}
			},
		},
		{
			name:  "unsafe field by field",
			child: "unsafe:\n  disable-seccomp: true\n  disable-masked-paths: true\n",
			check: func(t *testing.T, m *File) {
				u := m.Unsafe
				if u.DisableReadonlyRoot == nil || !*u.DisableReadonlyRoot {
					t.Errorf("disable-readonly-root not inherited")
				}
				if u.DisableSeccomp == nil || !*u.DisableSeccomp {
					t.Errorf("disable-seccomp not overridden")
				}
				if u.DisableMaskedPaths == nil || !*u.DisableMaskedPaths {
					t.Errorf("disable-masked-paths not set")
				}
				if u.DisableNetworkIsolation != nil || u.DisableResourceLimits != nil || u.DisableNoNewPrivileges != nil {
					t.Errorf("unset switches became set: %+v", u)
				}
			},
		},
		{
			name:  "unsafe switch turned back off",
			child: "unsafe:\n  disable-readonly-root: false\n",
			check: func(t *testing.T, m *File) {
				if *m.Unsafe.DisableReadonlyRoot {
					t.Errorf("disable-readonly-root = true, want the child's false")
				}
			},
		},
		{
			name:  "origins follow the winning value",
			child: "description: child\n",
			check: func(t *testing.T, m *File) {
				if got := at(m.origin["description"]); got != (Pos{File: "c.yaml", Line: 1, Col: 1}) {
					t.Errorf("origin[description] = %+v, want c.yaml:1:1", got)
				}
				if got := at(m.origin["workdir"]); got != (Pos{File: "p.yaml", Line: 6, Col: 1}) {
					t.Errorf("origin[workdir] = %+v, want p.yaml:6:1", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := mustDecode(t, "p.yaml", mergeParent)
			child := mustDecode(t, "c.yaml", tt.child)
			parentBefore, childBefore := deepCopy(parent), deepCopy(child)
			m := Merge(parent, child)
			if !reflect.DeepEqual(parent, parentBefore) {
				t.Errorf("Merge modified the parent")
			}
			if !reflect.DeepEqual(child, childBefore) {
				t.Errorf("Merge modified the child")
			}
			// Merging again from untouched inputs gives the same result.
			if m2 := Merge(parent, child); !reflect.DeepEqual(m, m2) {
				t.Errorf("Merge is not repeatable")
			}
			tt.check(t, m)
		})
	}
}

// The merged result must not share backing arrays with the parent such
// that editing the result (or merging a second child) changes the parent.
func TestMergeNoAliasing(t *testing.T) {
	parent := mustDecode(t, "p.yaml", mergeParent)
	before := deepCopy(parent)
	a := Merge(parent, mustDecode(t, "a.yaml", "env:\n  set: {Z: z}\ntmpfs:\n  - path: /a\ncapabilities:\n  add: [CAP_A]\nseccomp:\n  allow: [a]\n"))
	b := Merge(parent, mustDecode(t, "b.yaml", "tmpfs:\n  - path: /b\ncapabilities:\n  add: [CAP_B]\nseccomp:\n  allow: [b]\n"))
	if !reflect.DeepEqual(parent, before) {
		t.Fatalf("parent modified by merges")
	}
	if got := a.Tmpfs[len(a.Tmpfs)-1].Path; got != "/a" {
		t.Errorf("a's last tmpfs = %q, want /a (overwritten by the second merge?)", got)
	}
	if got := a.Capabilities.Add[len(a.Capabilities.Add)-1]; got != "CAP_A" {
		t.Errorf("a's last capability = %q, want CAP_A", got)
	}
	if got := a.Seccomp.Allow[len(a.Seccomp.Allow)-1]; got != "a" {
		t.Errorf("a's last syscall = %q, want a", got)
	}
	if got := b.Seccomp.Allow[len(b.Seccomp.Allow)-1]; got != "b" {
		t.Errorf("b's last syscall = %q, want b", got)
	}
	// Editing the merged result's maps leaves the parent alone.
	a.Env.Set["NEW"] = "x"
	if _, ok := parent.Env.Set["NEW"]; ok {
		t.Errorf("merged env.set aliases the parent's (child set env)")
	}
}

func TestMergeOntoEmpty(t *testing.T) {
	child := mustDecode(t, "c.yaml", mergeParent)
	m := Merge(&File{}, child)
	want := deepCopy(child)
	// Merging onto nothing normalises add/remove (remove is applied) and
	// drops seccomp.deny; the parent fixture has neither, so the result
	// equals the child.
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Merge(empty, c) =\n%#v\nwant\n%#v", m, want)
	}
}
