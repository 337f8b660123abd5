// Package suggest finds the closest valid name to a misspelt one, for
// "did you mean" hints in error messages.
package suggest

import "strings"

// Closest returns the candidate nearest to got (case-insensitive edit
// distance), or "" when none is within max(2, len(got)/4) edits.
func Closest(got string, candidates []string) string {
	best, bestDist := "", max(2, len(got)/4)+1
	g := strings.ToLower(got)
	for _, c := range candidates {
		if d := editDistance(g, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Hint renders Closest as a message suffix: ` (did you mean "x"?)`, or "".
func Hint(got string, candidates []string) string {
	if best := Closest(got, candidates); best != "" {
		return ` (did you mean "` + best + `"?)`
	}
	return ""
}

// editDistance is the Levenshtein distance with unit costs.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
