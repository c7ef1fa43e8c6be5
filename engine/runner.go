package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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
	// Mask hides secrets in everything reported.
	Mask func(string) string
	// StatePath is where the run's state is written after each step ("" writes none).
	StatePath string
	// Resume skips main steps that succeeded in the run recorded at StatePath with the same
	// resolved inputs, restoring their outputs.
	Resume bool
}

// ErrInterrupted is returned when the run's context was cancelled (Ctrl-C, SIGTERM).
var ErrInterrupted = errors.New("interrupted")

// StepError says which step failed, why, and what it printed last.
type StepError struct {
	Step   string
	ID     string
	Cause  error
	Output []string
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
	pb         *Playbook
	state      *runState
	prev       *runState // the run being resumed
	stateSaved time.Time
	stateDirty bool
	em         *emitter
	dir        string
	steps      map[string]any // what expressions see as steps.<id>
	total      int
	index      int
}

// Run executes the playbook. It returns nil when every step succeeded (or was allowed to
// fail), a *StepError for the first failure, or ErrInterrupted (joined with any failure).
func (pb *Playbook) Run(ctx context.Context, opts RunOptions) (*Result, error) {
	if err := pb.checkSecrets(); err != nil {
		return nil, err
	}
	selected, err := pb.selectSteps(opts)
	if err != nil {
		return nil, err
	}
	mask := pb.Mask
	if opts.Mask != nil {
		mask = func(s string) string { return opts.Mask(pb.Mask(s)) }
	}
	r := &runner{pb: pb, em: &emitter{reporters: opts.Reporters, mask: mask}, dir: filepath.Dir(pb.File), steps: map[string]any{}}
	for _, s := range append(append([]*Step{}, pb.Steps...), pb.Finally...) {
		if s.ID != "" {
			r.steps[s.ID] = map[string]any{"status": "pending", "outputs": map[string]any{}}
		}
	}
	for _, sel := range selected {
		if sel {
			r.total++
		}
	}
	if opts.StatePath != "" {
		r.state = &runState{Playbook: pb.File, Steps: map[string]*stepState{}}
		if opts.Resume {
			if r.prev, err = loadState(opts.StatePath); err != nil {
				return nil, err
			}
		}
	}
	r.total += len(pb.Finally)
	result := &Result{Steps: map[string]Status{}}
	r.em.emit(Event{Type: RunStarted, Playbook: pb.Name, Total: r.total})
	started := time.Now()

	mainCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		mainCtx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, fmt.Errorf("the playbook timeout of %s was reached", opts.Timeout))
		defer cancel()
	}
	var failure error
	for i, s := range pb.Steps {
		if !selected[i] {
			r.record(s, StatusSkipped, nil)
			result.Steps[s.Name] = StatusSkipped
			continue
		}
		if mainCtx.Err() != nil {
			break
		}
		inputs := ""
		if r.state != nil {
			inputs = r.inputsHash(s)
			if r.resumable(s, inputs) {
				result.Steps[s.Name] = StatusSucceeded
				continue
			}
		}
		status, err := r.runStep(mainCtx, s)
		result.Steps[s.Name] = status
		if saveErr := r.saveStep(opts.StatePath, s, status, inputs); saveErr != nil && err == nil {
			err = saveErr
		}
		if err != nil && !s.IgnoreErrors {
			failure = err
			break
		}
	}
	interrupted := ctx.Err() != nil
	if r.stateDirty {
		if err := r.flushState(opts.StatePath); err != nil && failure == nil {
			failure = err
		}
	}

	fctx := opts.FinallyContext
	if fctx == nil {
		fctx = context.WithoutCancel(ctx)
	}
	for _, s := range pb.Finally {
		status, err := r.runStep(fctx, s)
		result.Steps[s.Name] = status
		if err != nil && !s.IgnoreErrors && failure == nil {
			failure = err
		}
	}

	end := Event{Type: RunFinished, Playbook: pb.Name, Status: StatusSucceeded, Seconds: time.Since(started).Seconds()}
	switch {
	case interrupted:
		end.Status, end.Error = StatusCancelled, ErrInterrupted.Error()
		failure = errors.Join(ErrInterrupted, failure)
	case failure != nil:
		end.Status, end.Error = StatusFailed, failure.Error()
	}
	r.em.emit(end)
	return result, failure
}

// selectSteps applies --only and --start-at; an id that no step has is a usage error.
func (pb *Playbook) selectSteps(opts RunOptions) ([]bool, error) {
	find := func(flag, want string) (int, error) {
		var known []string
		for i, s := range pb.Steps {
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
	selected := make([]bool, len(pb.Steps))
	start := 0
	if opts.StartAt != "" {
		i, err := find("--start-at", opts.StartAt)
		if err != nil {
			return nil, err
		}
		start = i
	}
	for i := start; i < len(selected); i++ {
		selected[i] = len(opts.Only) == 0
	}
	for _, id := range opts.Only {
		i, err := find("--only", id)
		if err != nil {
			return nil, err
		}
		selected[i] = i >= start
	}
	return selected, nil
}

func (r *runner) record(s *Step, status Status, outputs any) {
	if s.ID == "" {
		return
	}
	if outputs == nil {
		outputs = map[string]any{}
	}
	r.steps[s.ID] = map[string]any{"status": string(status), "outputs": outputs}
}

func (r *runner) baseEvent(s *Step) Event {
	return Event{Playbook: r.pb.Name, Step: s.Name, ID: s.ID, StepType: s.Type, Finally: s.Finally, Index: r.index, Total: r.total}
}

func (r *runner) runStep(parent context.Context, s *Step) (Status, error) {
	r.index++
	base := r.baseEvent(s)
	started := time.Now()
	ev := base
	ev.Type = StepStarted
	r.em.emit(ev)

	ctx := parent
	if s.Timeout.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(parent, s.Timeout.Duration, fmt.Errorf("timed out after %s", s.Timeout.Duration))
		defer cancel()
	}
	tail := &tailBuffer{max: OutputTailLen}
	var outputs any
	var status Status
	var err error
	if s.Loop == nil {
		var out map[string]any
		out, status, err = r.runItem(ctx, s, &Env{Vars: r.pb.Vars, Steps: r.steps}, base, tail)
		outputs = out
	} else {
		outputs, status, err = r.runLoop(ctx, s, base, tail)
	}
	if err != nil && ctx.Err() != nil {
		err = withTimeoutCause(err, parent, ctx)
	}
	r.record(s, status, outputs)

	ev = base
	ev.Type, ev.Status, ev.Seconds = StepFinished, status, time.Since(started).Seconds()
	if err != nil {
		ev.Error, ev.Ignored = err.Error(), s.IgnoreErrors
		if status == StatusFailed {
			ev.Output = tail.snapshot()
		}
		err = &StepError{Step: s.Name, ID: s.ID, Cause: r.pb.maskError(err), Output: ev.Output}
	}
	r.em.emit(ev)
	return status, err
}

// runItem runs the step once (for one loop item): when, then attempts until success.
func (r *runner) runItem(ctx context.Context, s *Step, env *Env, base Event, tail *tailBuffer) (map[string]any, Status, error) {
	if s.When != nil {
		v, err := s.When.Eval(env)
		if err != nil {
			return nil, StatusFailed, fmt.Errorf("when: %w", err)
		}
		if v != true {
			return nil, StatusSkipped, nil
		}
	}
	params, err := s.resolveParams(env)
	if err != nil {
		return nil, StatusFailed, err
	}
	attempts := 1
	if s.Retry != nil {
		attempts = s.Retry.Attempts
	}
	rt := &Runtime{dir: r.dir, base: base, em: r.em, tail: tail, env: env}
	for attempt := 1; ; attempt++ {
		out, err := s.plugin.run(ctx, rt, params)
		if fe := (*FieldError)(nil); errors.As(err, &fe) {
			// A parameter found wrong only at run time (a chart downloaded now) still gets
			// its place in the playbook.
			err = validationDiagnostics(s.File, s.params, s.Type, err)
		}
		if err == nil && s.Retry != nil && s.Retry.Until != nil {
			untilEnv := *env
			untilEnv.Outputs = out
			v, uerr := s.Retry.Until.Eval(&untilEnv)
			switch {
			case uerr != nil:
				err = fmt.Errorf("retry.until: %w", uerr)
			case v != true:
				err = fmt.Errorf("%w: %s", ErrUntil, s.Retry.Until.Source)
			}
		}
		if err == nil {
			return out, StatusSucceeded, nil
		}
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), context.Canceled) {
				return out, StatusCancelled, err
			}
			return out, StatusFailed, err
		}
		if attempt >= attempts {
			if attempts > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempts, err)
			}
			return out, StatusFailed, err
		}
		ev := base
		ev.Type, ev.Attempt, ev.Error = StepRetrying, attempt, err.Error()
		r.em.emit(ev)
		select {
		case <-ctx.Done():
			return out, StatusCancelled, context.Cause(ctx)
		case <-time.After(s.Retry.Delay.Duration):
		}
	}
}

// resolveParams gives the step its typed parameters: decoded once at load when they depend
// only on vars, or now, with step results and the loop item in scope.
func (s *Step) resolveParams(env *Env) (any, error) {
	if s.static != nil {
		return s.static, nil
	}
	d := &decoder{file: s.File, scope: s.scope, cache: s.cache, env: env, runtime: true}
	params := newParams(s.plugin)
	d.decode(s.params, params.Elem(), fieldOpts{path: s.Type})
	if len(d.diags) > 0 {
		return nil, d.diags[0]
	}
	if err := s.plugin.validate(params.Interface()); err != nil {
		return nil, validationDiagnostics(s.File, s.params, s.Type, err)
	}
	return params.Interface(), nil
}

func (r *runner) runLoop(ctx context.Context, s *Step, base Event, tail *tailBuffer) (any, Status, error) {
	env := &Env{Vars: r.pb.Vars, Steps: r.steps}
	d := &decoder{file: s.File, scope: s.scope, cache: s.cache, env: env, runtime: true}
	loopValue, _ := d.value(s.Loop, "loop")
	if len(d.diags) > 0 {
		return nil, StatusFailed, d.diags[0]
	}
	if !isList(loopValue) {
		return nil, StatusFailed, fmt.Errorf("loop: expected a list, got %s", describeValue(loopValue))
	}
	items := listItems(loopValue)
	type result struct {
		out    map[string]any
		status Status
		err    error
	}
	results := make([]result, len(items))
	limit := max(s.Parallel, 1)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var stopMu sync.Mutex
	stop := false
	for i, item := range items {
		sem <- struct{}{}
		stopMu.Lock()
		halted := stop || ctx.Err() != nil
		stopMu.Unlock()
		if halted {
			<-sem
			results[i] = result{status: StatusCancelled}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			itemBase := base
			itemBase.Item = itemLabel(item)
			out, status, err := r.runItem(ctx, s, &Env{Vars: r.pb.Vars, Steps: r.steps, Item: item, Index: i}, itemBase, tail)
			results[i] = result{out, status, err}
			if status == StatusFailed && !s.IgnoreErrors {
				stopMu.Lock()
				stop = true // fail fast: start no more items once one failed
				stopMu.Unlock()
			}
		}()
	}
	wg.Wait()
	outputs := make([]any, len(items))
	var errs []string
	counts := map[Status]int{}
	for i, res := range results {
		outputs[i] = res.out
		counts[res.status]++
		if res.err != nil {
			errs = append(errs, fmt.Sprintf("item %d (%s): %v", i, itemLabel(items[i]), res.err))
		}
	}
	status := StatusSucceeded
	switch {
	case counts[StatusFailed] > 0:
		status = StatusFailed
	case counts[StatusCancelled] > 0:
		status = StatusCancelled
	case len(items) > 0 && counts[StatusSkipped] == len(items):
		status = StatusSkipped
	}
	if len(errs) > 0 {
		return outputs, status, errors.New(strings.Join(errs, "; "))
	}
	return outputs, status, nil
}

// withTimeoutCause says which timeout stopped a step, keeping what the step itself said
// about it (waitFor names the objects it was still waiting for).
func withTimeoutCause(err error, parent, ctx context.Context) error {
	var cause error
	switch {
	case parent.Err() != nil && !errors.Is(context.Cause(parent), context.Canceled):
		cause = context.Cause(parent) // the playbook timeout
	case parent.Err() == nil:
		cause = context.Cause(ctx) // this step's own timeout
	default:
		return err // interrupted
	}
	if errors.Is(err, cause) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return cause
	}
	return fmt.Errorf("%w: %v", cause, err)
}

// itemLabel names a loop item in reports: a map by its name-like field (a node, a container, a
// pod), anything else by its text, kept short.
func itemLabel(item any) string {
	if m, ok := item.(map[string]any); ok {
		for _, key := range []string{"name", "container", "pod", "node", "id"} {
			if v, ok := m[key].(string); ok && v != "" {
				return v
			}
		}
	}
	s := Stringify(item)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// resumable reports whether a step succeeded in the resumed run with the same inputs; if so
// its outputs are restored, so later steps see them, and it is reported as skipped.
func (r *runner) resumable(s *Step, inputs string) bool {
	if r.prev == nil || inputs == "" {
		return false
	}
	prev, ok := r.prev.Steps[stepKey(s)]
	if !ok || prev.Status != StatusSucceeded || prev.Inputs != inputs {
		return false
	}
	r.index++
	r.record(s, StatusSucceeded, prev.Outputs)
	r.state.Steps[stepKey(s)] = prev
	ev := r.baseEvent(s)
	ev.Type, ev.Status, ev.Reason = StepFinished, StatusSkipped, "succeeded in the previous run with the same inputs"
	r.em.emit(ev)
	return true
}

func (r *runner) saveStep(path string, s *Step, status Status, inputs string) error {
	if r.state == nil {
		return nil
	}
	var outputs any
	if s.ID != "" {
		outputs = r.pb.MaskValue(r.steps[s.ID].(map[string]any)["outputs"])
	}
	r.state.Steps[stepKey(s)] = &stepState{Status: status, Inputs: inputs, Outputs: outputs, Ended: time.Now()}
	// Saving rewrites the whole file, so a long run of quick steps saves at most every
	// stateSaveEvery: a crash loses only the record of steps that resuming reruns anyway.
	if status == StatusSucceeded && time.Since(r.stateSaved) < stateSaveEvery {
		r.stateDirty = true
		return nil
	}
	return r.flushState(path)
}

const stateSaveEvery = 250 * time.Millisecond

func (r *runner) flushState(path string) error {
	if r.state == nil {
		return nil
	}
	if err := r.state.save(path); err != nil {
		return fmt.Errorf("saving the run state: %w", err)
	}
	r.stateSaved, r.stateDirty = time.Now(), false
	return nil
}
