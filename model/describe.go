package model

import (
	"strconv"

	"github.com/kindlab/playbook/internal/textdist"
	"go.yaml.in/yaml/v3"
)

// Describe says what a node holds, for "expected X, got Y" messages.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// Suggest returns the candidate closest to word by edit distance, or "" when none is close
// enough to be a plausible typo (so that unrelated words do not get silly suggestions).
func Suggest(word string, candidates []string) string {
	// A third of the word, plus one: "whne" and "exce" still find their words, while
	// "frobnicate" does not become "validate".
	best, bestDist := "", len([]rune(word))/3+2
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
