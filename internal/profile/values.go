package profile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/safe-run/safe-run/internal/units"
)

// scalarValue is implemented by field types written as one YAML scalar with
// their own syntax (sizes, modes, rlimits). The decoder calls parseScalar with
// the scalar's text and reports its error at the scalar's line:col.
type scalarValue interface {
	parseScalar(text string) error
}

// Size is a byte count written as an integer with an optional binary suffix
// (k, m, g; "Ki", "MiB" and "b" are accepted too), e.g. "64m", "1GiB", or
// "unlimited" (0, which validation allows only with unsafe.disable-resource-limits).
type Size int64

const unlimitedWord = "unlimited"

func (s *Size) parseScalar(text string) error {
	if strings.EqualFold(strings.TrimSpace(text), unlimitedWord) {
		*s = 0
		return nil
	}
	n, err := units.ParseBytes(text)
	if err != nil {
		return fmt.Errorf("invalid size %q: %v", text, err)
	}
	*s = Size(n)
	return nil
}

// String renders the size in the largest exact unit.
func (s Size) String() string {
	switch {
	case s == 0:
		return unlimitedWord
	case s%(1<<30) == 0:
		return fmt.Sprintf("%dg", s>>30)
	case s%(1<<20) == 0:
		return fmt.Sprintf("%dm", s>>20)
	case s%(1<<10) == 0:
		return fmt.Sprintf("%dk", s>>10)
	}
	return strconv.FormatInt(int64(s), 10)
}

// Count is a positive whole number, or "unlimited" (0).
type Count int64

func (c *Count) parseScalar(text string) error {
	t := strings.TrimSpace(text)
	if strings.EqualFold(t, unlimitedWord) {
		*c = 0
		return nil
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("invalid count %q: write a positive whole number or \"unlimited\"", text)
	}
	*c = Count(n)
	return nil
}

// CPUs is a CPU bandwidth in cores, e.g. 0.5 or 2.
type CPUs float64

func (c *CPUs) parseScalar(text string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || !(f > 0 && f <= 1024) { // written so that NaN fails too
		return fmt.Errorf("invalid cpus %q: write a number of cores greater than 0, e.g. 1.5", text)
	}
	*c = CPUs(f)
	return nil
}

// Mode is a permission mode written in octal, e.g. 1777 or 0755.
type Mode uint32

func (m *Mode) parseScalar(text string) error {
	v, err := strconv.ParseUint(strings.TrimSpace(text), 8, 32)
	if err != nil || v > 0o7777 {
		return fmt.Errorf("invalid mode %q: write octal permission bits, e.g. \"1777\"", text)
	}
	*m = Mode(v)
	return nil
}

// Rlimit is "N" (soft and hard) or "SOFT:HARD".
type Rlimit struct {
	Soft, Hard uint64
}

func (r *Rlimit) parseScalar(text string) error {
	soft, hard, found := strings.Cut(strings.TrimSpace(text), ":")
	if !found {
		hard = soft
	}
	s, err1 := strconv.ParseUint(soft, 10, 64)
	h, err2 := strconv.ParseUint(hard, 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("invalid rlimit %q: write \"N\" or \"SOFT:HARD\", e.g. \"1024:4096\"", text)
	}
	if s > h {
		return fmt.Errorf("invalid rlimit %q: the soft limit %d is above the hard limit %d", text, s, h)
	}
	*r = Rlimit{Soft: s, Hard: h}
	return nil
}

// String renders the limit as it is written.
func (r Rlimit) String() string {
	if r.Soft == r.Hard {
		return strconv.FormatUint(r.Soft, 10)
	}
	return fmt.Sprintf("%d:%d", r.Soft, r.Hard)
}

// ParseOverride parses text with the syntax of *dst's type (Size, Count,
// CPUs, ...) and stores a new value in *dst; empty text changes nothing.
// It lets command-line flags share the profile's value syntax.
func ParseOverride[T any, PT interface {
	*T
	scalarValue
}](text string, dst **T) error {
	if text == "" {
		return nil
	}
	v := new(T)
	if err := PT(v).parseScalar(text); err != nil {
		return err
	}
	*dst = v
	return nil
}

// ArgValue is a syscall argument value: decimal or 0x hexadecimal, up to
// 64 bits.
type ArgValue uint64

func (a *ArgValue) parseScalar(text string) error {
	v, err := strconv.ParseUint(strings.TrimSpace(text), 0, 64)
	if err != nil {
		return fmt.Errorf("invalid argument value %q: write a number, decimal or 0x hexadecimal", text)
	}
	*a = ArgValue(v)
	return nil
}

// ParseUIDGID parses numeric "UID" or "UID:GID" (the gid defaults to the
// uid), as profiles' user and `exec -u` write them.
func ParseUIDGID(s string) (uint32, uint32, error) {
	uidText, gidText, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidText, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid uid %q", uidText)
	}
	gid := uid
	if hasGID {
		if gid, err = strconv.ParseUint(gidText, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("invalid gid %q", gidText)
		}
	}
	return uint32(uid), uint32(gid), nil
}
