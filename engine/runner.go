package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// RunOptions select steps and say where events go.
type RunOptions struct {
	Only      []string // ids (or names) of the only main steps to run
	StartAt   string   // id (or name) of the first main step to run
	Timeout   time.Duration
	Reporters []Reporter
	// FinallyContext is the parent of finally steps. It is separate from the run's context so
	// that Ctrl-C stops the current step but still lets cleanup run; the CLI cancels it on a
	// second Ctrl-C.
	FinallyContext context.Context
	// StatePath is where the run's state is written after each step ("" writes none).
	StatePath string
	// Resume skips main steps that succeeded in the run recorded at StatePath with the same
	// inputs, restoring their outputs.
	Resume bool
	// Replay gives steps (by id) the outputs a run recorded, instead of running them: checks
	// can then be tried on what a cluster once said, with no cluster. A looped step's are a
	// list, one per item.
	Replay map[string]any
}

// ErrInterrupted is the cause of a run stopped by Ctrl-C or SIGTERM.
var ErrInterrupted = errors.New("interrupted")

// StepError says which step failed, why, and what it printed last.
type StepError struct {
	Step   string
	ID     string
	Cause  error
	Output []string
	Stack  string // where the step type panicked, if it did
}

func (e *StepError) Error() string {
	label := fmt.Sprintf("step %q", e.Step)
	if e.ID != "" && e.ID != e.Step {
		label += " (" + e.ID + ")"
	}
	return label + " failed: " + e.Cause.Error()
}

func (e *StepError) Unwrap() error { return e.Cause }

// Result is the outcome of a run.
type Result struct {
	Steps map[string]Status // by step name
}

type runner struct {
	plan   *Plan
	em     *emitter
	dir    string
	steps  map[string]any // what expressions see as steps.<id>
	shared *runShared
	total  int
	// position numbers each step as a reader counts them: the selected main steps 1..total,
	// the finally steps 1..len(Finally), whether or not each one runs.
	position map[*Step]int
	result   *Result
	resume   *resumer
	note     string // said when the next step starts (why resume runs it again)
	replay   map[string]any
}

// Run executes the plan. It returns nil when every step succeeded (or was allowed to fail), a
// *StepError for the first failure, or an error wrapping ErrInterrupted.
func (p *Plan) Run(ctx context.Context, opts RunOptions) (*Result, error) {
	if err := p.checkSecrets(); err != nil {
		return nil, err
	}
	selected, why, err := p.selectSteps(opts)
	if err != nil {
		return nil, err
	}
	r := &runner{plan: p, em: &emitter{reporters: opts.Reporters, mask: p.masker}, dir: filepath.Dir(p.File),
		steps: map[string]any{}, shared: newRunShared(), result: &Result{Steps: map[string]Status{}}, replay: opts.Replay}
	for _, s := range append(append([]*Step{}, p.Steps...), p.Finally...) {
		r.record(s, "pending", nil, "")
	}
	r.position = map[*Step]int{}
	for i, sel := range selected {
		if sel {
			r.total++
			r.position[p.Steps[i]] = r.total
		}
	}
	for i, s := range p.Finally {
		r.position[s] = i + 1
	}
	if r.resume, err = newResumer(p, opts); err != nil {
		return nil, err
	}
	defer r.resume.close()
	r.em.emit(Event{Type: RunStarted, Playbook: p.Name, Total: r.total, Cleanup: len(p.Finally)})
	if r.resume != nil && r.resume.notice != "" {
		r.em.emit(Event{Type: Notice, Line: r.resume.notice})
	}
	started := time.Now()

	mainCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if opts.Timeout > 0 {
		var stop context.CancelFunc
		mainCtx, stop = context.WithTimeoutCause(mainCtx, opts.Timeout, fmt.Errorf("the playbook timeout of %s was reached", opts.Timeout))
		defer stop()
	}
	failure := r.runMain(ctx, mainCtx, selected, why)
	if err := r.resume.flush(); err != nil && failure == nil {
		failure = err
	}

	fctx := opts.FinallyContext
	if fctx == nil {
		fctx = context.WithoutCancel(ctx)
	}
	cleanup := r.runFinally(fctx)
	if failure == nil {
		failure = cleanup.err
	}
	if failure == nil && ctx.Err() != nil {
		// Interrupted while the finally steps ran: they went on, but the run did not end as
		// it would have.
		failure = ErrInterrupted
	}
	r.shared.end(fctx)

	end := Event{Type: RunFinished, Playbook: p.Name, Status: StatusSucceeded, Seconds: time.Since(started).Seconds(), Reason: cleanup.summary}
	switch {
	case errors.Is(failure, ErrInterrupted):
		end.Status, end.Error = StatusCancelled, ErrInterrupted.Error()
	case failure != nil:
		end.Status, end.Error = StatusFailed, failure.Error()
	}
	r.em.emit(end)
	return r.result, failure
}

// runMain runs the selected main steps until one fails, the playbook timeout ends them, or
// the run is interrupted; every step it does not reach is reported as not run.
func (r *runner) runMain(ctx, mainCtx context.Context, selected []bool, why string) error {
	var failure error
	for i, s := range r.plan.Steps {
		if failure == nil && mainCtx.Err() != nil {
			failure = r.stopCause(ctx, mainCtx)
		}
		if failure != nil {
			r.notRun(s, notReached(failure))
			continue
		}
		if outputs, ok := r.replay[s.ID]; ok && s.ID != "" {
			r.record(s, StatusSucceeded, outputs, "")
			r.result.Steps[s.Name] = StatusSucceeded
			ev := r.baseEvent(s)
			ev.Type, ev.Status, ev.Reason, ev.Outputs = StepFinished, StatusSucceeded, "replayed: outputs given, not run", outputs
			r.em.emit(ev)
			continue
		}
		// Left out by --only or --start-at: not-run, not skipped, so that a check of
		// `status in ['succeeded', 'skipped']` (a when that said no) does not pass for a step
		// this run never tried.
		if !selected[i] {
			r.record(s, StatusNotRun, nil, why)
			r.result.Steps[s.Name] = StatusNotRun
			continue
		}
		fingerprint := r.resume.fingerprint(s, r.steps)
		if r.resume.restore(r, s, fingerprint) {
			continue
		}
		status, outputs, err := r.runStep(mainCtx, s)
		r.resume.save(s, status, outputs, fingerprint)
		if err != nil && (!s.IgnoreErrors || status == StatusCancelled) {
			failure = err
			continue
		}
		// An ignored failure does not stop the run, but the playbook timeout or Ctrl-C that
		// caused it does.
		if mainCtx.Err() != nil {
			failure = r.stopCause(ctx, mainCtx)
		}
	}
	return failure
}

// stopCause is why the main steps stopped early: Ctrl-C, or the playbook timeout.
func (r *runner) stopCause(ctx, mainCtx context.Context) error {
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	return context.Cause(mainCtx)
}

func notReached(failure error) string {
	var se *StepError
	switch {
	case errors.Is(failure, ErrInterrupted):
		return "the run was interrupted"
	case errors.As(failure, &se):
		return fmt.Sprintf("step %q failed", se.Step)
	}
	return failure.Error()
}

type cleanupResult struct {
	err     error
	summary string
}

// runFinally runs every finally step; a second Ctrl-C (fctx cancelled) stops them.
func (r *runner) runFinally(fctx context.Context) cleanupResult {
	var res cleanupResult
	if len(r.plan.Finally) == 0 {
		return res
	}
	complete := true
	for _, s := range r.plan.Finally {
		if fctx.Err() != nil {
			r.notRun(s, "a second interrupt stopped the cleanup")
			complete = false
			continue
		}
		status, _, err := r.runStep(fctx, s)
		if status == StatusCancelled {
			complete = false
		}
		if err != nil && !s.IgnoreErrors && res.err == nil {
			res.err = err
		}
	}
	res.summary = "finally steps ran"
	if !complete {
		res.summary = "finally steps were stopped by a second interrupt"
	}
	return res
}

// notRun reports a step the run never reached.
func (r *runner) notRun(s *Step, why string) {
	r.record(s, StatusNotRun, nil, why)
	r.result.Steps[s.Name] = StatusNotRun
	ev := r.baseEvent(s)
	ev.Type, ev.Status, ev.Reason = StepFinished, StatusNotRun, why
	r.em.emit(ev)
}

// selectSteps applies --only and --start-at; an id that no step has is a usage error. why is
// what steps left out were skipped for.
func (p *Plan) selectSteps(opts RunOptions) ([]bool, string, error) {
	find := func(flag, want string) (int, error) {
		var known []string
		for i, s := range p.Steps {
			if s.ID == want || s.Name == want {
				return i, nil
			}
			if s.ID != "" {
				known = append(known, s.ID)
			}
		}
		msg := fmt.Sprintf("%s %s: no step has that id", flag, want)
		if s := Suggest(want, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return 0, usagef("%s", msg)
	}
	selected := make([]bool, len(p.Steps))
	start := 0
	var why []string
	if opts.StartAt != "" {
		i, err := find("--start-at", opts.StartAt)
		if err != nil {
			return nil, "", err
		}
		start = i
		why = append(why, "--start-at "+opts.StartAt)
	}
	for i := start; i < len(selected); i++ {
		selected[i] = len(opts.Only) == 0
	}
	for _, id := range opts.Only {
		i, err := find("--only", id)
		if err != nil {
			return nil, "", err
		}
		selected[i] = i >= start
		why = append(why, "--only "+id)
	}
	reason := "not selected"
	if len(why) > 0 {
		reason += " (" + strings.Join(why, ", ") + ")"
	}
	return selected, reason, nil
}

// record is what expressions see of a step: steps.<id>.status, and its outputs once it
// succeeded.
func (r *runner) record(s *Step, status Status, outputs any, why string) {
	if s.ID == "" {
		return
	}
	res := &stepResult{Status: string(status), id: s.ID, name: s.Name}
	if status == StatusSucceeded {
		if outputs == nil {
			outputs = map[string]any{}
		}
		res.Outputs = outputs
	} else {
		res.why = noOutputsReason(status, why)
	}
	r.steps[s.ID] = res
}

func (r *runner) baseEvent(s *Step) Event {
	total := r.total
	if s.Finally {
		total = len(r.plan.Finally)
	}
	return Event{Playbook: r.plan.Name, Step: s.Name, ID: s.ID, StepType: s.Type, Finally: s.Finally, Index: r.position[s], Total: total,
		Proof: s.Proof}
}

// checkSecrets fails a run whose secrets are not all set.
func (p *Plan) checkSecrets() error {
	if len(p.missingSecrets) == 0 {
		return nil
	}
	return &UsageError{Msg: strings.Join(p.missingSecrets, "\n")}
}
