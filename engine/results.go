package engine

import (
	"fmt"
)

// stepResult is what expressions see as steps.<id>: its status, and its outputs only when it
// succeeded. A step that did not succeed has no outputs, and reading them is an error that
// says why, never an empty value: `rm -rf ${{ steps.tmp.outputs.stdout }}/*` after a skipped
// step must not become `rm -rf /*`.
type stepResult struct {
	Status  string `expr:"status"`
	Outputs any    `expr:"outputs"`
	id      string
	name    string
	why     string // why there are no outputs
}

const (
	outputsFunc      = "__stepOutputs"
	outputsOrNilFunc = "__stepOutputsOrNil"
)

// stepOutputs is steps.<id>.outputs after the outputs patch (expr.go).
func stepOutputs(steps, id any, orNil bool) (any, error) {
	all, _ := steps.(map[string]any)
	key, _ := id.(string)
	r, ok := all[key].(*stepResult)
	if !ok {
		if orNil {
			return nil, nil
		}
		return nil, fmt.Errorf("no step has id %q", id)
	}
	if r.Status == string(StatusSucceeded) {
		return r.Outputs, nil
	}
	if orNil {
		return nil, nil
	}
	return nil, &missingOutputsError{r}
}

type missingOutputsError struct{ r *stepResult }

func (e *missingOutputsError) Error() string {
	r := e.r
	return fmt.Sprintf("step %q has no outputs: %s; read them only when it succeeded (when: steps[%q].status == 'succeeded'), or give a default (steps[%q].outputs.NAME ?? 'value')",
		r.name, r.why, r.id, r.id)
}

// why a step has no outputs, by its status
func noOutputsReason(status Status, reason string) string {
	switch status {
	case StatusSkipped:
		if reason != "" {
			return "it was skipped: " + reason
		}
		return "it was skipped"
	case StatusNotRun:
		if reason != "" {
			return "it did not run: " + reason
		}
		return "it did not run"
	case StatusFailed:
		return "it failed (ignoreErrors let the run go on)"
	case StatusCancelled:
		return "it was cancelled"
	}
	return "it has not run yet"
}
