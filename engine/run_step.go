package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/kindlab/playbook/internal/fanout"
)

// runStep runs one step, once or once per loop item, and reports its start and its end.
func (r *runner) runStep(parent context.Context, s *Step) (Status, any, error) {
	base := r.baseEvent(s)
	started := time.Now()
	ev := base
	ev.Type, ev.Params = StepStarted, s.params.shown
	r.em.emit(ev)
	if r.note != "" {
		ev.Type, ev.Stream, ev.Line = StepOutput, "log", r.note
		r.em.emit(ev)
		r.note = ""
	}

	ctx := parent
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(parent, s.Timeout, fmt.Errorf("timed out after %s", s.Timeout))
		defer cancel()
	}
	tail := &tailBuffer{max: OutputTailLen}
	var (
		outputs any
		status  Status
		err     error
		why     string
	)
	if s.loop == nil {
		var out map[string]any
		out, status, why, err = r.runItem(ctx, s, r.plan.env(r.steps), base, tail)
		if out != nil {
			outputs = out
		}
		if err != nil && ctx.Err() != nil {
			err = stopReason(err, parent, ctx)
		}
	} else {
		outputs, status, err = r.runLoop(ctx, parent, s, base, tail)
	}
	if status != StatusSucceeded {
		outputs = nil // a step that did not succeed has no outputs to read
	}
	r.record(s, status, outputs, why)
	r.result.Steps[s.Name] = status

	ev = base
	ev.Type, ev.Status, ev.Seconds, ev.Outputs, ev.Reason = StepFinished, status, time.Since(started).Seconds(), outputs, why
	if err != nil {
		ev.Error, ev.Ignored = err.Error(), s.IgnoreErrors
		if status == StatusFailed {
			ev.Output = tail.snapshot()
		}
		var pe *panicError
		if errors.As(err, &pe) {
			ev.Stack = pe.stack
		}
		err = &StepError{Step: s.Name, ID: s.ID, Cause: r.plan.masker.Error(err), Output: r.plan.masker.Strings(ev.Output), Stack: ev.Stack}
	}
	r.em.emit(ev)
	return status, outputs, err
}

// runItem runs the step once (for one loop item): its when, then attempts until one succeeds.
// why says why a skipped step was skipped.
func (r *runner) runItem(ctx context.Context, s *Step, env *Env, base Event, tail *tailBuffer) (map[string]any, Status, string, error) {
	if s.When != nil {
		v, err := s.When.Eval(env)
		if err != nil {
			return nil, StatusFailed, "", fmt.Errorf("when: %w", err)
		}
		if v != true {
			return nil, StatusSkipped, "when: " + s.When.Source, nil
		}
	}
	params, err := s.bindParams(env)
	if err != nil {
		return nil, StatusFailed, "", err
	}
	attempts := 1
	if s.Retry != nil {
		attempts = s.Retry.Attempts
	}
	rt := &Runtime{dir: r.dir, base: base, em: r.em, tail: tail, env: env, run: r.shared}
	for attempt := 1; ; attempt++ {
		out, err := r.call(ctx, s, rt, params)
		if ctx.Err() != nil {
			status, cause := stopStatus(ctx)
			if status == StatusFailed && err != nil {
				cause = err // what the step said about its timeout (waitFor: what it waited for)
			}
			return out, status, "", cause
		}
		if ok, uerr := s.untilHolds(env, out, err); ok {
			return out, StatusSucceeded, "", nil
		} else if uerr != nil {
			err = uerr
		}
		if err == nil {
			return out, StatusSucceeded, "", nil
		}
		if attempt >= attempts {
			if attempts > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempts, err)
			}
			return out, StatusFailed, "", err
		}
		ev := base
		ev.Type, ev.Attempt, ev.Error = StepRetrying, attempt, err.Error()
		r.em.emit(ev)
		select {
		case <-ctx.Done():
			status, cause := stopStatus(ctx)
			return out, status, "", cause
		case <-time.After(s.Retry.Delay.Duration):
		}
	}
}

// untilHolds applies retry.until, which, when given, is the success test: it is evaluated
// after every attempt, failed ones included, and the attempt succeeds when it holds. It
// returns the error to report when it does not hold.
func (s *Step) untilHolds(env *Env, out map[string]any, runErr error) (bool, error) {
	if s.Retry == nil || s.Retry.Until == nil {
		return false, nil
	}
	var pe *panicError
	if errors.As(runErr, &pe) {
		return false, nil // a bug in the step type is never success
	}
	untilEnv := *env
	untilEnv.Outputs = out
	v, err := s.Retry.Until.Eval(&untilEnv)
	switch {
	case err != nil:
		if runErr != nil {
			return false, runErr
		}
		return false, fmt.Errorf("retry.until: %w", err)
	case v == true:
		return true, nil
	case runErr != nil:
		return false, fmt.Errorf("%w (and until %s does not hold)", runErr, s.Retry.Until.Source)
	}
	return false, fmt.Errorf("%w: %s", ErrUntil, s.Retry.Until.Source)
}

// ErrUntil is returned when a retry's until condition never held.
var ErrUntil = errors.New("until condition not met")

// call runs the step type, turning a panic into the step's failure so that the run, and its
// finally steps, go on.
func (r *runner) call(ctx context.Context, s *Step, rt *Runtime, params any) (out map[string]any, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, &panicError{typ: s.Type, value: v, stack: string(debug.Stack())}
		}
	}()
	out, err = s.plugin.run(ctx, rt, params)
	if fe := (*FieldError)(nil); errors.As(err, &fe) {
		// A parameter found wrong only at run time (a chart downloaded now) still gets its
		// place in the playbook.
		err = validationDiagnostics(s.File, s.paramsNode, s.Type, err)
	}
	return out, err
}

type panicError struct {
	typ   string
	value any
	stack string
}

func (e *panicError) Error() string {
	return fmt.Sprintf("the %s step type panicked: %v (a bug in playbook: please report it with the stack, shown with --debug)", e.typ, e.value)
}

// bindParams gives the step its typed parameters: decoded at load when the file and vars
// decide them, or now, with step results and the loop item in scope.
func (s *Step) bindParams(env *Env) (any, error) {
	if p, ok := s.staticParams(); ok {
		return p, nil
	}
	v, err := s.params.bind(env)
	if err != nil {
		return nil, err
	}
	p := pointerTo(v)
	if err := s.plugin.validate(p); err != nil {
		return nil, validationDiagnostics(s.File, s.paramsNode, s.Type, err)
	}
	return p, nil
}

// stopStatus is how a step stopped by its context ends: cancelled when the user interrupted
// or another loop item failed, failed when a timeout ran out.
func stopStatus(ctx context.Context) (Status, error) {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, fanout.ErrStopped): // another item of the loop failed
		return StatusCancelled, cause
	case interrupted(ctx):
		return StatusCancelled, ErrInterrupted
	}
	return StatusFailed, cause
}

func interrupted(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, context.Canceled) || errors.Is(cause, ErrInterrupted)
}

// stopReason says which timeout stopped a step, keeping what the step itself said about it
// (waitFor names the objects it was still waiting for).
func stopReason(err error, parent, ctx context.Context) error {
	var cause error
	switch {
	case interrupted(ctx):
		return ErrInterrupted
	case parent.Err() != nil:
		cause = context.Cause(parent) // the playbook timeout
	default:
		cause = context.Cause(ctx) // this step's own timeout
	}
	if errors.Is(err, cause) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return cause
	}
	return fmt.Errorf("%w: %v", cause, err)
}
