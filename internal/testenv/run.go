package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/report"
)

// Run runs a loaded playbook as a test needs it: the run's plain-text progress goes to the
// test log, so a failure shows every step's output.
func Run(t testing.TB, pb *engine.Plan) error {
	t.Helper()
	var log strings.Builder
	_, err := pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{report.NewTextReporter(&log, false)}})
	t.Log(log.String())
	return err
}
