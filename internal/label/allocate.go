package label

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Labels are one container's process and mount labels.
type Labels struct {
	Process string // process.selinuxLabel
	Mount   string // linux.mountLabel: tmpfs, devpts, relabelled volumes
}

// Allocator hands out labels whose MCS pair no other live safe-run
// container of the same state root holds.
type Allocator struct {
	// Dir holds one file per live container (its process label), and
	// the lock file. Under the state root, owned by the caller.
	Dir     string
	Backend Backend
}

const lockFile = ".lock"

// Allocate draws the labels for container id with the given go-selinux
// options ("type:container_t", and "level:s0:c1,c2" for a fixed level,
// which is reserved but, as the user asked for it, not checked for
// uniqueness). The pair stays reserved until Release.
func (a *Allocator) Allocate(id string, options []string) (Labels, error) {
	if strings.ContainsAny(id, "/\x00") || id == "" || id[0] == '.' {
		return Labels{}, fmt.Errorf("invalid container id %q", id)
	}
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return Labels{}, err
	}
	unlock, err := a.lock()
	if err != nil {
		return Labels{}, err
	}
	defer unlock()
	live, err := a.live()
	if err != nil {
		return Labels{}, err
	}
	for _, l := range live {
		a.Backend.Reserve(l)
	}
	process, mount, err := a.Backend.InitLabels(options)
	if err != nil {
		return Labels{}, fmt.Errorf("selinux: %w", err)
	}
	if process == "" {
		return Labels{}, errors.New("selinux: no container label (is there a contexts/lxc_contexts file for the host's policy?)")
	}
	f, err := os.OpenFile(filepath.Join(a.Dir, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err == nil {
		_, err = f.WriteString(process + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		a.Backend.Release(process)
		return Labels{}, fmt.Errorf("selinux: reserving the label of %s: %w", id, err)
	}
	return Labels{Process: process, Mount: mount}, nil
}

// Release frees the pair of container id (every exit path calls it;
// `safe-run gc` does for containers whose safe-run died).
func (a *Allocator) Release(id string, l Labels) error {
	if l.Process != "" {
		a.Backend.Release(l.Process)
	}
	err := os.Remove(filepath.Join(a.Dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Reserved lists the container ids holding a label.
func (a *Allocator) Reserved() ([]string, error) {
	entries, err := os.ReadDir(a.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var ids []string
	for _, e := range entries {
		if e.Name() != lockFile {
			ids = append(ids, e.Name())
		}
	}
	return ids, err
}

// live returns the labels of every reservation.
func (a *Allocator) live() ([]string, error) {
	ids, err := a.Reserved()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(a.Dir, id))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // released meanwhile
			}
			return nil, err
		}
		out = append(out, strings.TrimSpace(string(data)))
	}
	return out, nil
}

// lock takes the allocator's exclusive lock (flock), so that reading the
// live pairs and recording a new one happen as one step across processes.
func (a *Allocator) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(a.Dir, lockFile), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("selinux: label lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("selinux: label lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
