package suggest

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"abc", "abc", 0},
		{"abc", "abd", 1},
		{"abc", "ab", 1},
		{"abc", "xabc", 1},
		{"opneat", "openat", 2},
		{"kitten", "sitting", 3},
		{"memroy", "memory", 2},
		{"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	fields := []string{"capabilities", "command", "description", "env", "memory", "seccomp", "tmpfs"}
	tests := []struct {
		got        string
		candidates []string
		want       string
	}{
		{"capabilites", fields, "capabilities"},
		{"memroy", fields, "memory"},
		{"MEMORY", fields, "memory"},             // case-insensitive, returns the candidate's spelling
		{"Memory", []string{"MEMORY"}, "MEMORY"}, // candidate casing kept
		{"comand", fields, "command"},
		{"tmpf", fields, "tmpfs"},
		{"xyz", fields, ""},        // distance 3 > max(2, 0)
		{"envv", fields, "env"},    // 1 edit
		{"e", fields, "env"},       // 2 edits, allowed for short words (max 2)
		{"", fields, ""},           // nothing within 2 edits of the empty string ("env" is 3)
		{"", []string{"ab"}, "ab"}, // ... unless a candidate is that short
		{"anything", nil, ""},      // no candidates
		{"descriptoin", fields, "description"},
		{"dscrptn", fields, ""}, // 4 deletions: beyond max(2, 7/4) = 2
	}
	for _, tt := range tests {
		if got := Closest(tt.got, tt.candidates); got != tt.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", tt.got, tt.candidates, got, tt.want)
		}
	}
}

func TestClosestThreshold(t *testing.T) {
	// The budget is max(2, len(got)/4) edits.
	long := "abcdefghijklmnop" // 16 chars: 4 edits allowed
	cand := []string{"abcdefghijklWXYZ"}
	if got := Closest(long, cand); got != "abcdefghijklWXYZ" {
		t.Errorf("4 edits on a 16-char word: got %q", got)
	}
	cand = []string{"abcdefghijkVWXYZ"} // 5 edits
	if got := Closest(long, cand); got != "" {
		t.Errorf("5 edits on a 16-char word: got %q, want none", got)
	}
	if got := Closest("abcd", []string{"abxy"}); got != "abxy" {
		t.Errorf("2 edits on a 4-char word: got %q", got)
	}
	if got := Closest("abcd", []string{"axyz"}); got != "" {
		t.Errorf("3 edits on a 4-char word: got %q, want none", got)
	}
}

func TestClosestPrefersNearestThenFirst(t *testing.T) {
	if got := Closest("opneat", []string{"open", "openat", "openat2"}); got != "openat" {
		t.Errorf("got %q, want the nearest (openat)", got)
	}
	// Ties go to the first candidate.
	if got := Closest("cat", []string{"bat", "hat"}); got != "bat" {
		t.Errorf("tie: got %q, want bat", got)
	}
	if got := Closest("cat", []string{"hat", "bat"}); got != "hat" {
		t.Errorf("tie: got %q, want hat", got)
	}
	// An exact match wins.
	if got := Closest("bat", []string{"cat", "bat"}); got != "bat" {
		t.Errorf("exact: got %q", got)
	}
}

func TestHint(t *testing.T) {
	if got := Hint("opneat", []string{"openat"}); got != ` (did you mean "openat"?)` {
		t.Errorf("Hint = %q", got)
	}
	if got := Hint("zzzzzz", []string{"openat"}); got != "" {
		t.Errorf("Hint with nothing close = %q", got)
	}
}
