package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kindlab/playbook/internal/fanout"
)

// ItemError is the failure of one loop item. A loop's errors are joined, each with its item,
// so errors.Is and errors.As still find what went wrong.
type ItemError struct {
	Index int
	Item  string
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d (%s): %v", e.Index, e.Item, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

type itemResult struct {
	out    map[string]any
	status Status
	err    error
	label  string
}

// runLoop runs the step once per item, at most s.Parallel at a time. The first item that
// fails (unless errors are ignored) cancels the items still running and starts no more.
func (r *runner) runLoop(ctx, parent context.Context, s *Step, base Event, tail *tailBuffer) (any, Status, error) {
	items, envs, err := r.plan.loopEnvs(s, r.steps)
	if err != nil {
		return nil, StatusFailed, err
	}
	results := make([]itemResult, len(items))
	for i, item := range items {
		results[i].label, results[i].status = s.itemLabel(envs[i], item), StatusNotRun
	}
	_ = fanout.Each(ctx, len(items), max(s.Parallel, 1), func(itemCtx context.Context, i int) error {
		itemBase := base
		itemBase.Item, itemBase.ItemIndex, itemBase.Items = results[i].label, i, len(items)
		started := itemBase
		started.Type = ItemStarted
		began := time.Now()
		r.em.emit(started)
		out, status, _, err := r.runItem(itemCtx, s, envs[i], itemBase, tail)
		results[i].out, results[i].status, results[i].err = out, status, err
		finished := itemBase
		finished.Type, finished.Status, finished.Seconds = ItemFinished, status, time.Since(began).Seconds()
		if err != nil {
			finished.Error, finished.Ignored = err.Error(), s.IgnoreErrors
		}
		r.em.emit(finished)
		if status == StatusFailed && !s.IgnoreErrors && ctx.Err() == nil {
			return err // fail fast: stops the items still running
		}
		return nil
	})
	return loopOutcome(ctx, parent, results)
}

// loopOutcome gathers the items' outputs and status, and one error: each item's own failure,
// and the timeout or interruption that stopped the loop said once, not once per item.
func loopOutcome(ctx, parent context.Context, results []itemResult) (any, Status, error) {
	outputs := make([]any, len(results))
	counts := map[Status]int{}
	var errs []error
	var unfinished []string
	for i, res := range results {
		counts[res.status]++
		if res.status == StatusSucceeded {
			outputs[i] = res.out
		}
		switch {
		case ctx.Err() != nil && (res.status == StatusCancelled || res.status == StatusNotRun || errors.Is(res.err, context.Cause(ctx))):
			unfinished = append(unfinished, res.label)
		case res.status == StatusCancelled || res.status == StatusNotRun:
			// stopped because another item failed: that item's error says why
		case res.err != nil:
			errs = append(errs, &ItemError{Index: i, Item: res.label, Err: res.err})
		}
	}
	status := StatusSucceeded
	switch {
	case ctx.Err() != nil && interrupted(ctx):
		status = StatusCancelled
	case counts[StatusFailed] > 0 || ctx.Err() != nil:
		status = StatusFailed
	case len(results) > 0 && counts[StatusSkipped] == len(results):
		status = StatusSkipped
	}
	if ctx.Err() != nil {
		stop := stopReason(context.Cause(ctx), parent, ctx)
		if len(unfinished) > 0 && !errors.Is(stop, ErrInterrupted) {
			stop = fmt.Errorf("%w (unfinished: %s)", stop, strings.Join(unfinished, ", "))
		}
		errs = append(errs, stop)
	}
	return outputs, status, errors.Join(errs...)
}

// loopEnvs binds a looped step's list and gives each item the env its expressions read.
func (p *Plan) loopEnvs(s *Step, steps map[string]any) ([]any, []*Env, error) {
	env := p.env(steps)
	v, err := s.loop.bind(env)
	if err != nil {
		return nil, nil, err
	}
	list := v.Interface()
	if !isList(list) {
		return nil, nil, fmt.Errorf("loop: expected a list, got %s", describeValue(env.mask, list))
	}
	items := listItems(list)
	envs := make([]*Env, len(items))
	for i, item := range items {
		envs[i] = p.env(steps)
		envs[i].Item, envs[i].Index = item, i
	}
	return items, envs, nil
}

// itemLabel names a loop item in reports: the step's own name when it uses item, else a map by
// its name-like field (a node, a container, a pod), anything else by its text, kept short.
func (s *Step) itemLabel(env *Env, item any) string {
	if s.itemName != nil {
		if v, err := s.itemName.Render(env); err == nil {
			return Stringify(v)
		}
	}
	if m, ok := item.(map[string]any); ok {
		for _, key := range []string{"name", "container", "pod", "node", "id"} {
			if v, ok := m[key].(string); ok && v != "" {
				return env.mask.Shorten(v, 60)
			}
		}
		// A Kubernetes object (a kubectlGet item) by its name.
		if meta, ok := m["metadata"].(map[string]any); ok {
			if v, ok := meta["name"].(string); ok && v != "" {
				return env.mask.Shorten(v, 60)
			}
		}
	}
	return env.mask.Shorten(Stringify(item), 60)
}
