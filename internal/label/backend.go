// Package label gives every container a unique SELinux MCS category pair
// (e.g. system_u:system_r:container_t:s0:c186,c641), unique across all
// safe-run processes, not only within one: go-selinux reserves pairs per
// process, so the pairs of live containers are recorded under the state
// root and reserved under a lock before a new one is drawn.
package label

import (
	"github.com/opencontainers/selinux/go-selinux"
	golabel "github.com/opencontainers/selinux/go-selinux/label"
)

// Backend is the part of go-selinux safe-run uses. The host of the tests
// has SELinux off, so unit tests use a fake; tests/selinux runs the real
// one in an enforcing VM.
type Backend interface {
	// Enabled reports whether the host has SELinux enabled.
	Enabled() bool
	// Enforcing reports whether the policy is enforced (not permissive).
	Enforcing() bool
	// Reserve marks a label's MCS pair as taken in this process.
	Reserve(label string)
	// Release frees a label's MCS pair in this process.
	Release(label string)
	// InitLabels draws a process and mount label with a pair not
	// reserved (go-selinux label.InitLabels options: "type:T", "level:L").
	InitLabels(options []string) (process, mount string, err error)
	// Relabel sets path's label recursively (shared: level s0).
	Relabel(path, fileLabel string, shared bool) error
}

// GoSELinux is the real backend.
type GoSELinux struct{}

func (GoSELinux) Enabled() bool   { return selinux.GetEnabled() }
func (GoSELinux) Enforcing() bool { return selinux.EnforceMode() == selinux.Enforcing }
func (GoSELinux) Reserve(label string) {
	// ErrMCSAlreadyExists only says this process holds the pair already.
	_ = selinux.ReserveLabelV2(label)
}
func (GoSELinux) Release(label string) { selinux.ReleaseLabel(label) }
func (GoSELinux) InitLabels(options []string) (string, string, error) {
	return golabel.InitLabels(options)
}
func (GoSELinux) Relabel(path, fileLabel string, shared bool) error {
	return golabel.Relabel(path, fileLabel, shared)
}
