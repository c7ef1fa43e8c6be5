package engine

import "github.com/kindlab/playbook/internal/textdist"

// Suggest returns the candidate closest to word by edit distance, or "" when none is close
// enough to be a plausible typo (so that unrelated words do not get silly suggestions).
func Suggest(word string, candidates []string) string {
	best, bestDist := "", len(word)/2+2
	for _, c := range candidates {
		d := textdist.Distance(word, c)
		if d < bestDist || (d == bestDist && best != "" && c < best) {
			best, bestDist = c, d
		}
	}
	if best == word {
		return ""
	}
	return best
}
