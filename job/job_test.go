package job

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/model"
)

// The job's exit is its worst cell's: a cell that could not start, then a failed one, then an
// interrupted one, then success.
func TestWorst(t *testing.T) {
	failed := errors.New("step failed")
	interrupted := fmt.Errorf("stopped: %w", engine.ErrInterrupted)
	invalid := model.Diagnostics{{Msg: "unknown key"}}
	cases := []struct {
		errs []error
		want error
	}{
		{[]error{nil, nil}, nil},
		{[]error{nil, interrupted}, interrupted},
		{[]error{interrupted, failed, nil}, failed},
		{[]error{failed, invalid, interrupted}, invalid},
	}
	for _, tc := range cases {
		if got := Worst(tc.errs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Worst(%v) = %v, want %v", tc.errs, got, tc.want)
		}
	}
}
