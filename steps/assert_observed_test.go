package steps_test

import (
	"strings"
	"testing"
)

// What an assert observed is one line, a cell of the comparison table, whatever the value
// held: newlines and tabs become single spaces, and it is said before the check, so a failed
// check shows it too.
func TestAssertObservesOneLine(t *testing.T) {
	var observed []string
	_, lines, err := loadRun(t, "vars: {v: ''}\nsteps:\n  - {name: check, assert: {that: ['false'], observed: '${{ vars.v }}'}}\n",
		"v=BPF\n\tand\r\nmore")
	if err == nil {
		t.Fatal("the check passed")
	}
	for _, l := range lines {
		if strings.Contains(l, "BPF") {
			observed = append(observed, l)
		}
	}
	if len(observed) != 1 || observed[0] != "BPF and more" {
		t.Errorf("observed lines %q, want one: BPF and more", observed)
	}
}
