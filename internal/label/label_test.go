package label

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeSELinux draws pairs like go-selinux does (random, skipping pairs
// reserved in this process), from a small category space so collisions
// would be frequent without the allocator's cross-process reservation.
type fakeSELinux struct {
	mu       sync.Mutex
	reserved map[string]bool
	cats     int
	failInit error
	relabels []string
}

func newFake(cats int) *fakeSELinux {
	return &fakeSELinux{reserved: map[string]bool{}, cats: cats}
}

func pairOf(label string) string { return label[strings.LastIndex(label, ":s0:")+4:] }

func (f *fakeSELinux) Enabled() bool   { return true }
func (f *fakeSELinux) Enforcing() bool { return true }
func (f *fakeSELinux) Reserve(l string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reserved[pairOf(l)] = true
}
func (f *fakeSELinux) Release(l string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.reserved, pairOf(l))
}
func (f *fakeSELinux) InitLabels(options []string) (string, string, error) {
	if f.failInit != nil {
		return "", "", f.failInit
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < 100000; i++ {
		a, b := rand.Intn(f.cats), rand.Intn(f.cats)
		if a >= b {
			continue
		}
		pair := fmt.Sprintf("c%d,c%d", a, b)
		if !f.reserved[pair] {
			f.reserved[pair] = true
			return "system_u:system_r:container_t:s0:" + pair, "system_u:object_r:container_file_t:s0:" + pair, nil
		}
	}
	return "", "", errors.New("no free pair")
}
func (f *fakeSELinux) Relabel(path, label string, shared bool) error {
	f.relabels = append(f.relabels, fmt.Sprintf("%s %s %v", path, label, shared))
	return nil
}

// A child process of the test binary allocates labels (cross-process test).
func TestMain(m *testing.M) {
	if dir := os.Getenv("LABEL_TEST_CHILD_DIR"); dir != "" {
		n, _ := strconv.Atoi(os.Getenv("LABEL_TEST_CHILD_N"))
		a := &Allocator{Dir: dir, Backend: newFake(16)}
		for i := 0; i < n; i++ {
			if _, err := a.Allocate(fmt.Sprintf("p%d-%d", os.Getpid(), i), nil); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func livePairs(t *testing.T, a *Allocator) []string {
	t.Helper()
	labels, err := a.live()
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, l := range labels {
		pairs = append(pairs, pairOf(l))
	}
	return pairs
}

func assertUnique(t *testing.T, pairs []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range pairs {
		if seen[p] {
			t.Fatalf("pair %s given to two live containers (%d containers)", p, len(pairs))
		}
		seen[p] = true
	}
}

func TestUniqueAcrossGoroutines(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for g := 0; g < 60; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			// Each allocator has its own backend, like separate processes.
			a := &Allocator{Dir: dir, Backend: newFake(16)}
			if _, err := a.Allocate(fmt.Sprintf("g%d", g), nil); err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	pairs := livePairs(t, &Allocator{Dir: dir})
	if len(pairs) != 60 {
		t.Fatalf("%d reservations, want 60", len(pairs))
	}
	assertUnique(t, pairs)
}

func TestUniqueAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LABEL_TEST_CHILD_DIR="+dir, "LABEL_TEST_CHILD_N=20")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	pairs := livePairs(t, &Allocator{Dir: dir})
	if len(pairs) != 80 {
		t.Fatalf("%d reservations, want 80", len(pairs))
	}
	assertUnique(t, pairs)
}

func TestReleaseFreesThePair(t *testing.T) {
	dir := t.TempDir()
	f := newFake(3) // one single pair: c0,c1 ... c1,c2: three pairs
	a := &Allocator{Dir: dir, Backend: f}
	var got []Labels
	for i := 0; i < 3; i++ {
		l, err := a.Allocate(fmt.Sprint("c", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	if _, err := a.Allocate("c3", nil); err == nil {
		t.Fatal("a fourth container got a pair out of three")
	}
	if err := a.Release("c1", got[1]); err != nil {
		t.Fatal(err)
	}
	l, err := a.Allocate("c4", nil)
	if err != nil || pairOf(l.Process) != pairOf(got[1].Process) {
		t.Fatalf("the released pair is not free again: %v %v", l, err)
	}
	if ids, _ := a.Reserved(); len(ids) != 3 {
		t.Errorf("reservations %v", ids)
	}
}

func TestErrorPathsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	f := newFake(32)
	a := &Allocator{Dir: dir, Backend: f}
	f.failInit = errors.New("boom")
	if _, err := a.Allocate("x", nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if ids, _ := a.Reserved(); len(ids) != 0 {
		t.Errorf("a failed allocation left %v", ids)
	}
	f.failInit = nil
	// The id is taken (a reservation exists): the drawn pair is released.
	if err := os.WriteFile(filepath.Join(dir, "dup"), []byte("system_u:system_r:container_t:s0:c1,c2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(f.reserved)
	if _, err := a.Allocate("dup", nil); err == nil {
		t.Fatal("allocated over an existing reservation")
	}
	if len(f.reserved) != before+1 { // only c1,c2 from the live file stays reserved
		t.Errorf("the drawn pair was not released: %v", f.reserved)
	}
	if _, err := a.Allocate("../escape", nil); err == nil {
		t.Error("an id with a slash was accepted")
	}
	if err := a.Release("never-allocated", Labels{}); err != nil {
		t.Errorf("releasing an unknown id: %v", err)
	}
}

func TestRelabelRefusesSystemPaths(t *testing.T) {
	f := newFake(32)
	a := &Allocator{Dir: t.TempDir(), Backend: f}
	l := Labels{Mount: "system_u:object_r:container_file_t:s0:c1,c2"}
	for _, p := range []string{"/", "/usr", "/usr/lib", "/etc", "/etc/ssl", "/home", "/home/alice", "/var", "/tmp", "/home/alice/"} {
		if err := a.Relabel(p, "/home/alice", l, false); err == nil {
			t.Errorf("relabel of %s accepted", p)
		}
	}
	if err := a.Relabel("/home/alice/data", "/home/alice", l, true); err != nil {
		t.Fatal(err)
	}
	if len(f.relabels) != 1 || f.relabels[0] != "/home/alice/data system_u:object_r:container_file_t:s0:c1,c2 true" {
		t.Errorf("relabels = %v", f.relabels)
	}
}

// BenchmarkAllocate is what labels add to a start: lock, read the live
// reservations, draw, record, release.
func BenchmarkAllocate(b *testing.B) {
	dir := b.TempDir()
	a := &Allocator{Dir: dir, Backend: newFake(1024)}
	for i := 0; i < 50; i++ { // 50 other live containers
		if _, err := a.Allocate(fmt.Sprint("live", i), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprint("c", i)
		i++
		l, err := a.Allocate(id, nil)
		if err != nil {
			b.Fatal(err)
		}
		a.Release(id, l)
	}
}
