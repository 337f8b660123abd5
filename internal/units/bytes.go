// Package units parses byte sizes the way docker writes them, for both
// profile fields and docker-style flags.
package units

import (
	"errors"
	"strconv"
	"strings"
)

// ParseBytes parses a positive size: a number (fractions allowed) with an
// optional binary unit b, k, m, g, t, also written kb, mib, GiB, ... in
// any case. "1.5g" is 1.5 GiB.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := int64(1)
	if n := len(t); n > 0 && t[n-1] >= 'a' && t[n-1] <= 'z' {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		default:
			return 0, errors.New("unknown unit (valid: b, k, m, g, t)")
		}
		t = t[:n-1]
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || !(n > 0) || n*float64(mult) > 1<<62 || n*float64(mult) < 1 {
		return 0, errors.New("write a positive number with an optional unit (b, k, m, g, t), e.g. 512m or 1g")
	}
	return int64(n * float64(mult)), nil
}
