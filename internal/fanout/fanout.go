// Package fanout runs one piece of work per item, at most a given number at a time, and stops
// them all at the first failure: the loop items of a step, and a step's containers, pods,
// nodes or objects. It is errgroup with a cause of its own, so that the items it stops can
// tell that they were stopped, and the error it returns is each item's own, never the same
// cancellation said once per item.
package fanout

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// ErrStopped is the cause of the context an item runs with once another item failed.
var ErrStopped = errors.New("stopped: another one failed first")

// Each runs fn for every index below n, at most limit at once (0: all at once). The first
// error cancels the context of the items running (cause ErrStopped), and no item starts after
// it. It returns the items' own errors joined: not those of items that were only stopped.
func Each(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	itemsCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var g errgroup.Group
	if limit > 0 {
		g.SetLimit(limit)
	}
	errs := make([]error, n)
	for i := range n {
		if itemsCtx.Err() != nil {
			break
		}
		g.Go(func() error {
			// A slot can free up only because an item returned, perhaps with the failure
			// that stops the rest: look again before starting.
			if itemsCtx.Err() != nil {
				return nil
			}
			if err := fn(itemsCtx, i); err != nil {
				errs[i] = err
				if !Stopped(ctx, itemsCtx, err) {
					stop(ErrStopped)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	var own []error
	for _, err := range errs {
		if err != nil && !Stopped(ctx, itemsCtx, err) {
			own = append(own, err)
		}
	}
	return errors.Join(own...)
}

// Stopped reports whether err only says that an item was stopped because another failed.
func Stopped(parent, itemsCtx context.Context, err error) bool {
	if errors.Is(err, ErrStopped) {
		return true
	}
	return parent.Err() == nil && errors.Is(context.Cause(itemsCtx), ErrStopped) && errors.Is(err, context.Canceled)
}
