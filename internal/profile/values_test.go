package profile

import (
	"math"
	"strings"
	"testing"
)

func TestSizeParse(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		err  bool
	}{
		{"1", 1, false},
		{"100b", 100, false},
		{"64k", 64 << 10, false},
		{"64K", 64 << 10, false},
		{"64kb", 64 << 10, false},
		{"64Ki", 64 << 10, false},
		{"64KiB", 64 << 10, false},
		{"512m", 512 << 20, false},
		{"512MiB", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{" 2g ", 2 << 30, false},
		{"unlimited", 0, false},
		{"UNLIMITED", 0, false},
		{"", 0, true},
		{"0", 0, true},
		{"-1", 0, true},
		{"12x", 0, true},
		{"1t", 1 << 40, false},
		{"1.5g", 3 << 29, false},
		{"g", 0, true},
		{"b", 0, true},
		{"64 m", 0, true},
		{"0x10", 0, true},
		{"4294967297g", 0, true}, // above 2^62 bytes
		{"4294967296g", 1 << 62, false},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		var s Size
		err := s.parseScalar(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Size(%q): err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), `invalid size "`+tt.in+`"`) {
				t.Errorf("Size(%q) error %q does not quote the input", tt.in, err)
			}
			continue
		}
		if s != tt.want {
			t.Errorf("Size(%q) = %d, want %d", tt.in, s, tt.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "unlimited"},
		{1, "1"},
		{1000, "1000"},
		{1024, "1k"},
		{1536, "1536"},
		{3 << 10, "3k"},
		{1 << 20, "1m"},
		{1536 << 10, "1536k"},
		{512 << 20, "512m"},
		{1 << 30, "1g"},
		{1024 << 30, "1024g"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		// String output parses back to the same size.
		var back Size
		if err := back.parseScalar(tt.in.String()); err != nil || back != tt.in {
			t.Errorf("parse(%q) = %d, %v; want %d", tt.in.String(), back, err, tt.in)
		}
	}
}

func TestCountParse(t *testing.T) {
	tests := []struct {
		in   string
		want Count
		err  bool
	}{
		{"1", 1, false},
		{" 42 ", 42, false},
		{"unlimited", 0, false},
		{"Unlimited", 0, false},
		{"0", 0, true},
		{"-3", 0, true},
		{"1.5", 0, true},
		{"ten", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		var c Count
		err := c.parseScalar(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Count(%q): err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && c != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.in, c, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), `invalid count "`+tt.in+`"`) {
			t.Errorf("Count(%q) error = %q", tt.in, err)
		}
	}
}

func TestCPUsParse(t *testing.T) {
	tests := []struct {
		in   string
		want CPUs
		err  bool
	}{
		{"1", 1, false},
		{"0.5", 0.5, false},
		{" 2 ", 2, false},
		{"1024", 1024, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"1024.5", 0, true},
		{"Inf", 0, true},
		{"-Inf", 0, true},
		{"two", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		var c CPUs
		err := c.parseScalar(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("CPUs(%q): err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && c != tt.want {
			t.Errorf("CPUs(%q) = %v, want %v", tt.in, c, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), `invalid cpus "`+tt.in+`"`) {
			t.Errorf("CPUs(%q) error = %q", tt.in, err)
		}
	}
}

func TestCPUsRejectsNaN(t *testing.T) {
	for _, in := range []string{"NaN", "nan"} {
		var c CPUs
		if err := c.parseScalar(in); err == nil {
			knownBug(t, "values.go CPUs.parseScalar(%q) accepts NaN (value %v, IsNaN=%v): the check `f <= 0 || f > 1024` is false for NaN; want an \"invalid cpus\" error",
				in, float64(c), math.IsNaN(float64(c)))
		}
	}
}

func TestModeParse(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		err  bool
	}{
		{"1777", 0o1777, false},
		{"0755", 0o755, false},
		{"755", 0o755, false},
		{"0", 0, false},
		{"7777", 0o7777, false},
		{" 700 ", 0o700, false},
		{"999", 0, true},
		{"8", 0, true},
		{"17777", 0, true},
		{"-1", 0, true},
		{"rwx", 0, true},
		{"0o755", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		var m Mode
		err := m.parseScalar(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Mode(%q): err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && m != tt.want {
			t.Errorf("Mode(%q) = %o, want %o", tt.in, m, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), `invalid mode "`+tt.in+`"`) {
			t.Errorf("Mode(%q) error = %q", tt.in, err)
		}
	}
}

func TestRlimitParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Rlimit
		errPart string
	}{
		{"1024", Rlimit{1024, 1024}, ""},
		{"0", Rlimit{0, 0}, ""},
		{"1024:4096", Rlimit{1024, 4096}, ""},
		{"5:5", Rlimit{5, 5}, ""},
		{" 1:2 ", Rlimit{1, 2}, ""},
		{"18446744073709551615", Rlimit{math.MaxUint64, math.MaxUint64}, ""},
		{"5:2", Rlimit{}, "the soft limit 5 is above the hard limit 2"},
		{"-1", Rlimit{}, `write "N" or "SOFT:HARD"`},
		{"1:", Rlimit{}, `write "N" or "SOFT:HARD"`},
		{":1", Rlimit{}, `write "N" or "SOFT:HARD"`},
		{"1:2:3", Rlimit{}, `write "N" or "SOFT:HARD"`},
		{"many", Rlimit{}, `write "N" or "SOFT:HARD"`},
		{"", Rlimit{}, `write "N" or "SOFT:HARD"`},
	}
	for _, tt := range tests {
		var r Rlimit
		err := r.parseScalar(tt.in)
		if tt.errPart != "" {
			if err == nil {
				t.Errorf("Rlimit(%q) = %+v, want error", tt.in, r)
			} else if !strings.Contains(err.Error(), tt.errPart) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("Rlimit(%q) error %q, want it to contain %q and the input", tt.in, err, tt.errPart)
			}
			continue
		}
		if err != nil || r != tt.want {
			t.Errorf("Rlimit(%q) = %+v, %v; want %+v", tt.in, r, err, tt.want)
		}
	}
}

func TestRlimitString(t *testing.T) {
	for _, tt := range []struct {
		r    Rlimit
		want string
	}{
		{Rlimit{0, 0}, "0"},
		{Rlimit{1024, 1024}, "1024"},
		{Rlimit{1024, 4096}, "1024:4096"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
		var back Rlimit
		if err := back.parseScalar(tt.r.String()); err != nil || back != tt.r {
			t.Errorf("round trip of %+v = %+v, %v", tt.r, back, err)
		}
	}
}
