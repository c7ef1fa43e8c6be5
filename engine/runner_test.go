package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

func TestWhenSkips(t *testing.T) {
	pb := mustLoad(t, header+"vars: {on: false}\nsteps:\n  - name: skipped\n    id: a\n    when: vars.on\n    say: {message: x}\n  - name: runs\n    when: steps.a.status == 'skipped'\n    say: {message: ran}\n")
	c, res, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps["skipped"] != engine.StatusSkipped || res.Steps["runs"] != engine.StatusSucceeded {
		t.Errorf("statuses %v", res.Steps)
	}
	if strings.Join(c.lines(), ",") != "ran" {
		t.Errorf("lines %v", c.lines())
	}
}

func TestLoopOutputsAndWhenPerItem(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: l\n    id: l\n    loop: [1, 2, 3]\n    when: item != 2\n    probe: {key: \"k${{ item }}\", value: \"${{ item * 10 }}\"}\n  - name: check\n    check:\n      that: [\"steps.l.outputs[0].value == 10\", \"steps.l.outputs[1] == nil\", \"steps.l.outputs[2].value == 30\"]\n")
	if _, _, err := run(t, pb, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if probeAttempts["k2"] != 0 {
		t.Error("item 2 ran although when was false for it")
	}
}

func TestParallelLoopRunsConcurrentlyWithinLimit(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: l\n    loop: [a, b, c, d, e, f]\n    parallel: 3\n    probe: {key: \"${{ item }}\", sleep: 100ms}\n")
	if _, _, err := run(t, pb, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := probeMaxPar.Load(); got != 3 {
		t.Errorf("max concurrent items = %d, want 3", got)
	}
	// Overlapping spans prove concurrency without asserting on wall time.
	a, b := probeSpans["a"], probeSpans["b"]
	if !(a[0].Before(b[1]) && b[0].Before(a[1])) {
		t.Errorf("items a and b did not overlap: %v %v", a, b)
	}
}

func TestRetryUntil(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: r\n    id: r\n    probe: {key: r, failFor: 1}\n    retry: {attempts: 5, delay: 1ms, until: outputs.attempt >= 3}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if probeAttempts["r"] != 3 {
		t.Errorf("attempts = %d, want 3 (one failure, one until=false, then success)", probeAttempts["r"])
	}
	retries := 0
	for _, e := range c.events {
		if e.Type == engine.StepRetrying {
			retries++
		}
	}
	if retries != 2 {
		t.Errorf("retry events = %d, want 2", retries)
	}
}

func TestRetryGivesUp(t *testing.T) {
	resetProbes()
	pb := mustLoad(t, header+"steps:\n  - name: r\n    probe: {key: g, failFor: 10}\n    retry: {attempts: 2}\n")
	_, _, err := run(t, pb, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), `step "r" failed: after 2 attempts: probe failure g`) {
		t.Fatalf("err = %v", err)
	}
}

func TestStepTimeout(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: slow\n    timeout: 50ms\n    probe: {key: slow, sleep: 60s}\n")
	start := time.Now()
	_, res, err := run(t, pb, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err = %v", err)
	}
	// Half the probe's sleep: a bound on waiting for it, not a speed (that is in bench/).
	if res.Steps["slow"] != engine.StatusFailed || time.Since(start) > 30*time.Second {
		t.Errorf("status %s after %s", res.Steps["slow"], time.Since(start))
	}
}

func TestPlaybookTimeoutStillRunsFinally(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: slow\n    probe: {key: pt, sleep: 10s}\nfinally:\n  - name: cleanup\n    say: {message: cleaned}\n")
	c, _, err := run(t, pb, engine.RunOptions{Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "the playbook timeout of 50ms was reached") {
		t.Fatalf("err = %v", err)
	}
	if e, ok := c.finished("cleanup"); !ok || e.Status != engine.StatusSucceeded {
		t.Error("finally step did not run after the playbook timeout")
	}
}

func TestFailureStopsAndFinallyRuns(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: ok\n    say: {message: a}\n  - name: bad\n    id: bad\n    echo: {stdout: first, stderr: why, exitCode: 4}\n  - name: never\n    say: {message: b}\nfinally:\n  - name: cleanup\n    when: steps.bad.status == 'failed'\n    say: {message: cleaning}\n")
	c, res, err := run(t, pb, engine.RunOptions{})
	var se *engine.StepError
	if !errors.As(err, &se) || se.Step != "bad" || se.ID != "bad" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(se.Error(), "exited with code 4: why") {
		t.Errorf("cause missing: %v", se)
	}
	if out := strings.Join(se.Output, "|"); out != "first|why" {
		t.Errorf("output tail = %q", se.Output)
	}
	if res.Steps["never"] != engine.StatusNotRun {
		t.Errorf("never: %s, want not-run", res.Steps["never"])
	}
	if e, _ := c.finished("never"); e.Status != engine.StatusNotRun || e.Reason != `step "bad" failed` {
		t.Errorf("the step after the failure is reported as %+v", e)
	}
	if e, _ := c.finished("cleanup"); e.Status != engine.StatusSucceeded {
		t.Error("finally did not run, or did not see the failure")
	}
}

func TestIgnoreErrors(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: bad\n    ignoreErrors: true\n    echo: {exitCode: 1}\n  - name: after\n    say: {message: x}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c.finished("bad"); e.Status != engine.StatusFailed || !e.Ignored {
		t.Errorf("bad: %+v", e)
	}
}

func TestOnlyAndStartAt(t *testing.T) {
	body := header + "steps:\n  - {name: one, id: one, say: {message: '1'}}\n  - {name: two, id: two, say: {message: '2'}}\n  - {name: three, id: three, say: {message: '3'}}\nfinally:\n  - {name: fin, say: {message: f}}\n"
	cases := []struct {
		opts engine.RunOptions
		want string
		err  string
	}{
		{engine.RunOptions{}, "1,2,3,f", ""},
		{engine.RunOptions{StartAt: "two"}, "2,3,f", ""},
		{engine.RunOptions{Only: []string{"one", "three"}}, "1,3,f", ""},
		{engine.RunOptions{StartAt: "two", Only: []string{"one", "three"}}, "3,f", ""},
		{engine.RunOptions{Only: []string{"tow"}}, "", `--only tow: no step has that id; did you mean "two"?`},
	}
	for _, tc := range cases {
		pb := mustLoad(t, body)
		c, _, err := run(t, pb, tc.opts)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !engine.IsInvalidInput(err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(c.lines(), ","); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.opts, got, tc.want)
		}
	}
}

// A step left out by --only or --start-at did not run; it was not skipped by its when. A
// verdict that accepts skipped checks must not pass for checks that were never tried.
func TestUnselectedStepsAreNotRun(t *testing.T) {
	body := header + "steps:\n  - {name: one, id: one, say: {message: '1'}}\n  - {name: two, id: two, when: false, say: {message: '2'}}\n  - {name: three, id: three, say: {message: \"${{ steps.one.status }} ${{ steps.two.status }}\"}}\n"
	pb := mustLoad(t, body)
	c, res, err := run(t, pb, engine.RunOptions{Only: []string{"two", "three"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "not-run skipped" {
		t.Errorf("three said %q, want %q", got, "not-run skipped")
	}
	if res.Steps["one"] != engine.StatusNotRun || res.Steps["two"] != engine.StatusSkipped {
		t.Errorf("result: one %s, two %s", res.Steps["one"], res.Steps["two"])
	}
}

// Cancelling the run's context (what Ctrl-C does) stops the current step promptly, skips the
// rest and still runs finally, whose context is separate.
func TestInterruptRunsFinally(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: long\n    probe: {key: long, sleep: 60s}\n  - name: next\n    say: {message: never}\nfinally:\n  - name: cleanup\n    say: {message: cleaned}\n")
	ctx, cancel := context.WithCancel(context.Background())
	c := &collect{}
	// Ctrl-C once the step is running: its first output line says so.
	interrupt := engine.ReporterFunc(func(e engine.Event) {
		if e.Type == engine.StepOutput && e.Step == "long" {
			cancel()
		}
	})
	start := time.Now()
	res, err := pb.Run(ctx, engine.RunOptions{Reporters: []engine.Reporter{c, interrupt}})
	if !errors.Is(err, engine.ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("cancellation waited for the step: %s", took)
	}
	if res.Steps["long"] != engine.StatusCancelled {
		t.Errorf("long: %s", res.Steps["long"])
	}
	if res.Steps["next"] != engine.StatusNotRun {
		t.Error("a step after the interruption ran")
	}
	if e, _ := c.finished("long"); e.Error != "interrupted" {
		t.Errorf("the interrupted step says %q, want interrupted", e.Error)
	}
	if strings.Join(c.lines(), ",") != "probe long attempt 1,cleaned" {
		t.Errorf("finally output: %v", c.lines())
	}
}

func TestAssertExplainsFalseExpressions(t *testing.T) {
	pb := mustLoad(t, header+"vars: {port: 31000}\nsteps:\n  - name: svc\n    id: svc\n    probe: {key: svc, value: {spec: {ports: [{nodePort: 32000}]}}}\n  - name: check\n    check:\n      that:\n        - steps.svc.outputs.value.spec.ports[0].nodePort == vars.port\n        - vars.port > 0\n")
	_, _, err := run(t, pb, engine.RunOptions{})
	want := `false: steps.svc.outputs.value.spec.ports[0].nodePort == vars.port where steps.svc.outputs.value.spec.ports[0].nodePort = 32000`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "vars.port = 31000") {
		t.Fatalf("err = %v\nwant it to contain %s", err, want)
	}
}

func TestPlanResolvesVarsAndKeepsRuntimeValues(t *testing.T) {
	pb := mustLoad(t, header+"vars: {cluster: demo}\nsteps:\n  - name: a\n    id: a\n    typed: {words: [echo, \"${{ vars.cluster }}\"]}\n  - name: b\n    say: {message: \"got ${{ steps.a.outputs.words }}\"}\n")
	steps, err := pb.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	words := steps[0].Params.(map[string]any)["words"].([]any)
	if words[1] != "demo" || steps[0].Pending {
		t.Errorf("step a: %+v", steps[0])
	}
	if msg := steps[1].Params.(map[string]any)["message"]; msg != "got ${{ steps.a.outputs.words }}" || !steps[1].Pending {
		t.Errorf("step b: %+v", steps[1])
	}
}

// A finally step runs under its own timeout even after the playbook's own ran out.
func TestFinallyGetsItsOwnTimeout(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: slow, probe: {key: ft, sleep: 10s}}\nfinally:\n  - {name: cleanup, timeout: 300ms, probe: {key: ft2, sleep: 100ms}}\n  - {name: stuck, timeout: 50ms, probe: {key: ft3, sleep: 10s}}\n")
	c, _, _ := run(t, pb, engine.RunOptions{Timeout: 50 * time.Millisecond})
	if e, _ := c.finished("cleanup"); e.Status != engine.StatusSucceeded {
		t.Errorf("cleanup: %s %s", e.Status, e.Error)
	}
	if e, _ := c.finished("stuck"); e.Status != engine.StatusFailed || !strings.Contains(e.Error, "timed out after 50ms") {
		t.Errorf("stuck: %s %s", e.Status, e.Error)
	}
}
