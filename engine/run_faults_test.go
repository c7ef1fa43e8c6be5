package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

// When the playbook timeout ends a step whose errors are ignored, the run stops there and
// fails with that cause; the steps it never reached are reported as not run.
func TestPlaybookTimeoutEndsAnIgnoredStep(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - {name: slow, ignoreErrors: true, probe: {key: t1, sleep: 10s}}\n  - {name: next, say: {message: never}}\nfinally:\n  - {name: cleanup, say: {message: cleaned}}\n")
	c, res, err := run(t, pb, engine.RunOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "the playbook timeout of 100ms was reached") {
		t.Fatalf("err = %v, want the playbook timeout", err)
	}
	if res.Steps["next"] != engine.StatusNotRun {
		t.Errorf("next: %q, want not-run", res.Steps["next"])
	}
	if e, ok := c.finished("next"); !ok || e.Status != engine.StatusNotRun {
		t.Errorf("next is not reported as not run: %+v", e)
	}
	if e := c.last(); e.Type != engine.RunFinished || e.Status != engine.StatusFailed {
		t.Errorf("run finished as %+v", e)
	}
	if e, _ := c.finished("cleanup"); e.Status != engine.StatusSucceeded {
		t.Error("finally did not run")
	}
}

// A panic in a step type fails that step with the panic's message; the run goes on to its
// finally steps, and the stack is in the event (shown with --debug, always in JSON).
func TestPanicInAStepTypeFailsTheStep(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: buggy, boom: {}}\nfinally:\n  - {name: cleanup, say: {message: cleaned}}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	var se *engine.StepError
	if !errors.As(err, &se) || !strings.Contains(se.Error(), "the boom step type panicked: boom: assignment to entry in nil map") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(se.Stack, "runtime/debug.Stack") && !strings.Contains(se.Stack, "plugins_test.go") {
		t.Errorf("no stack: %q", se.Stack)
	}
	if e, _ := c.finished("buggy"); e.Stack == "" {
		t.Error("the step-finished event has no stack")
	}
	if e, _ := c.finished("cleanup"); e.Status != engine.StatusSucceeded {
		t.Error("finally did not run after the panic")
	}
}

// Fail-fast in a parallel loop cancels the items already running, not only the ones not yet
// started; the loop's error is each failed item's, joined, so errors.Is and As still work.
func TestLoopFailFastCancelsRunningItems(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: l\n    loop: [a, b, c, d]\n    parallel: 4\n    probe: {key: \"${{ item }}\", sleep: \"${{ item == 'a' ? '50ms' : '60s' }}\", failFor: \"${{ item == 'a' ? 1 : 0 }}\"}\n")
	start := time.Now()
	_, res, err := run(t, pb, engine.RunOptions{})
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the loop waited %s for items that fail-fast should have cancelled", took)
	}
	if res.Steps["l"] != engine.StatusFailed {
		t.Errorf("status %s", res.Steps["l"])
	}
	var item *engine.ItemError
	if !errors.As(err, &item) || item.Item != "a" || item.Index != 0 {
		t.Fatalf("err = %v: want the failed item as an *engine.ItemError", err)
	}
	if n := strings.Count(err.Error(), "item "); n != 1 {
		t.Errorf("the cancelled items are reported as failures too: %v", err)
	}
	probeMu.Lock()
	defer probeMu.Unlock()
	if len(probeActive) != 0 {
		t.Errorf("items still running after the step ended: %v", probeActive)
	}
}

// A step timeout that stops every item of a loop is said once, with the items it stopped.
func TestLoopTimeoutIsSaidOnce(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: l\n    loop: [a, b, c]\n    parallel: 3\n    timeout: 100ms\n    probe: {key: \"t-${{ item }}\", sleep: 20s}\n")
	_, _, err := run(t, pb, engine.RunOptions{})
	if err == nil || strings.Count(err.Error(), "timed out after 100ms") != 1 {
		t.Fatalf("err = %v: want the timeout once", err)
	}
	if !strings.Contains(err.Error(), "unfinished: a, b, c") {
		t.Errorf("err = %v: want the items that did not finish", err)
	}
}

// A loop item's error keeps its type through the join.
func TestLoopErrorsAreJoined(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: l\n    loop: [x, y, z]\n    parallel: 3\n    ignoreErrors: true\n    probe: {key: \"j-${{ item }}\", failFor: \"${{ item == 'y' ? 0 : 1 }}\"}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.finished("l")
	if e.Status != engine.StatusFailed || !e.Ignored || !strings.Contains(e.Error, "item 0 (x): probe failure j-x") || !strings.Contains(e.Error, "item 2 (z): probe failure j-z") {
		t.Errorf("loop: %+v", e)
	}
}

// A step type is held to the outputs it documents on every run, so the documentation that
// `playbook steps` shows can never drift from what a step returns.
func TestOutputsMustMatchTheirDocumentation(t *testing.T) {
	cases := []struct{ keys, want string }{
		{"[count, names]", ""},
		{"[count]", "step type liar broke its outputs contract (a bug in the step type): it left out documented names"},
		{"[count, names, extra]", "it returned undocumented extra"},
		{"[extra]", "it left out documented count, names and returned undocumented extra"},
	}
	for _, tc := range cases {
		pb := mustLoad(t, header+"steps:\n  - {name: lies, liar: {keys: "+tc.keys+"}}\n")
		_, _, err := run(t, pb, engine.RunOptions{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.keys, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.keys, err, tc.want)
		}
	}
}
