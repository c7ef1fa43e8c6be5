package valuescheck

import (
	"sort"
	"strings"

	"github.com/kindlab/playbook/internal/textdist"
)

// Problem is one user key the chart does not read.
type Problem struct {
	Path       []string // the user's path down to the first unknown key
	Suggestion string   // the known path it most likely meant, or ""
}

func (p Problem) String() string {
	s := "unknown value " + strings.Join(p.Path, ".")
	if p.Suggestion != "" {
		s += "; did you mean " + p.Suggestion + "?"
	}
	return s
}

// Check returns the user's keys that the chart would ignore, in path order.
func (k *Known) Check(values map[string]any) []Problem {
	var problems []Problem
	k.check(nil, values, &problems)
	sort.Slice(problems, func(i, j int) bool {
		return strings.Join(problems[i].Path, ".") < strings.Join(problems[j].Path, ".")
	})
	return problems
}

func (k *Known) check(prefix []string, values map[string]any, problems *[]Problem) {
	if k.open[strings.Join(prefix, ".")] {
		return
	}
	for key, v := range values {
		path := append(append([]string{}, prefix...), key)
		if !k.paths[strings.Join(path, ".")] {
			*problems = append(*problems, Problem{Path: path, Suggestion: k.suggest(path, v)})
			continue
		}
		if m, ok := v.(map[string]any); ok {
			k.check(path, m, problems)
		}
	}
}

// suggest finds what the user most likely meant: first the same key elsewhere
// (monitorAggregation -> bpf.monitorAggregation), then the closest spelling of the path down
// to the leaf (dubug.enabled -> debug.enabled).
func (k *Known) suggest(path []string, v any) string {
	full := append([]string{}, path...)
	for m, ok := v.(map[string]any); ok && len(m) == 1; m, ok = v.(map[string]any) {
		for key, inner := range m {
			full, v = append(full, key), inner
		}
	}
	want := strings.Join(full, ".")
	last := full[len(full)-1]
	var sameLeaf, sameDepth []string
	for p := range k.paths {
		segs := strings.Split(p, ".")
		if segs[len(segs)-1] == last && len(segs) != len(full) {
			sameLeaf = append(sameLeaf, p)
		}
		if len(segs) == len(full) {
			sameDepth = append(sameDepth, p)
		}
	}
	if best := closest(want, sameDepth); best != "" && textdist.Distance(want, best) <= max(2, len(want)/5) {
		return best
	}
	if len(sameLeaf) > 0 {
		sort.Slice(sameLeaf, func(i, j int) bool {
			return len(sameLeaf[i]) < len(sameLeaf[j]) || len(sameLeaf[i]) == len(sameLeaf[j]) && sameLeaf[i] < sameLeaf[j]
		})
		return sameLeaf[0]
	}
	if best := closest(want, sameDepth); best != "" && textdist.Distance(want, best) <= len(want)/2 {
		return best
	}
	return ""
}

func closest(word string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		if d := textdist.Distance(word, c); d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	return best
}
