package fanout_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kindlab/playbook/internal/fanout"
)

func TestEachKeepsToTheLimit(t *testing.T) {
	var running, most atomic.Int32
	err := fanout.Each(context.Background(), 20, 3, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		return nil
	})
	if err != nil || most.Load() != 3 {
		t.Fatalf("err %v, at most %d at once, want 3", err, most.Load())
	}
}

// The first failure stops the items running; the error is that item's own, never the
// stopped items' cancellations.
func TestEachStopsTheRestAtTheFirstFailure(t *testing.T) {
	broken := errors.New("item 2 is broken")
	var stopped, started atomic.Int32
	err := fanout.Each(context.Background(), 10, 4, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 2 {
			for started.Load() < 4 { // fail once every slot is taken
				time.Sleep(time.Millisecond)
			}
			return broken
		}
		select {
		case <-ctx.Done():
			stopped.Add(1)
			if !errors.Is(context.Cause(ctx), fanout.ErrStopped) {
				t.Errorf("item %d: cause %v", i, context.Cause(ctx))
			}
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return nil
		}
	})
	if !errors.Is(err, broken) || err.Error() != broken.Error() {
		t.Fatalf("err = %v, want only %v", err, broken)
	}
	if stopped.Load() != 3 || started.Load() != 4 {
		t.Errorf("%d started, %d stopped: want 4 started (the limit) and the 3 others stopped", started.Load(), stopped.Load())
	}
}

func TestEachJoinsEveryFailure(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	err := fanout.Each(context.Background(), 2, 0, func(ctx context.Context, i int) error {
		time.Sleep(time.Millisecond)
		return []error{a, b}[i]
	})
	if err == nil || (!errors.Is(err, a) && !errors.Is(err, b)) {
		t.Fatalf("err = %v", err)
	}
}

// When the caller cancels, the items' cancellations are what the caller sees.
func TestEachReportsTheCallersCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := fanout.Each(ctx, 3, 0, func(ctx context.Context, i int) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
