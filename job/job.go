// Package job runs several playbooks (cells) as one job: one at a time or a few at once, each
// with its own state file, every event tagged with its cell, so that reports can show the
// cells side by side.
package job

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kindlab/playbook/engine"
)

// Cell is one run of the job.
type Cell struct {
	Name      string
	Plan      *engine.Plan
	Vars      map[string]string // the cell's own vars, for reports
	StatePath string
	// Replay gives the cell's steps recorded outputs instead of running them (engine.RunOptions).
	Replay map[string]any
}

// Options say how the cells run and where their events go.
type Options struct {
	// Jobs is how many cells run at once (at least one).
	Jobs int
	// Run is what every cell's run gets: Only, StartAt, Timeout, Resume. Its Reporters,
	// StatePath and FinallyContext are set per cell.
	Run engine.RunOptions
	// CellReporters are a cell's own reporters (its plain lines, prefixed with its name).
	CellReporters func(cell string) []engine.Reporter
	// Reporters see every cell's events with Cell set, one event at a time.
	Reporters []engine.Reporter
	// FinallyContext is the parent of every cell's finally steps (see engine.RunOptions).
	FinallyContext context.Context
	// AfterCell, when set, is called when a cell has ended, before the next one takes its
	// slot: what uses the cell's cluster (more checks on it, then its deletion) happens while
	// no other cell's cluster is being built beside it.
	AfterCell func(c Cell, err error)
}

// Run runs the cells and returns each one's error, in the cells' order. Ctrl-C (ctx) stops
// every running cell, whose finally steps still run, and starts no other: a cell never
// started is reported as cancelled.
func Run(ctx context.Context, cells []Cell, opts Options) []error {
	jobs := max(opts.Jobs, 1)
	shared := &tagger{reporters: opts.Reporters}
	errs := make([]error, len(cells))
	slots := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, c := range cells {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs[i] = engine.ErrInterrupted
			shared.neverStarted(c)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			errs[i] = runCell(ctx, c, opts, shared)
			if opts.AfterCell != nil {
				opts.AfterCell(c, errs[i])
			}
		}()
	}
	wg.Wait()
	return errs
}

func runCell(ctx context.Context, c Cell, opts Options, shared *tagger) error {
	run := opts.Run
	run.StatePath = c.StatePath
	if c.Replay != nil {
		run.Replay = c.Replay
	}
	run.FinallyContext = opts.FinallyContext
	run.Reporters = append([]engine.Reporter{shared.forCell(c)}, opts.CellReporters(c.Name)...)
	_, err := c.Plan.Run(ctx, run)
	if err != nil && engine.IsInvalidInput(err) {
		// Nothing ran (a bad --only): the run said nothing, so the job says it for the cell.
		shared.couldNotStart(c, err)
	}
	return err
}

// tagger hands every cell's events to the job's reporters one at a time, tagged with the cell.
type tagger struct {
	mu        sync.Mutex
	reporters []engine.Reporter
}

func (t *tagger) forCell(c Cell) engine.Reporter {
	return engine.ReporterFunc(func(e engine.Event) {
		e.Cell = c.Name
		if e.Type == engine.RunStarted {
			e.CellVars = c.Vars
		}
		t.handle(e)
	})
}

func (t *tagger) handle(e engine.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.reporters {
		r.Handle(e)
	}
}

func (t *tagger) neverStarted(c Cell) {
	now := time.Now()
	t.handle(engine.Event{Time: now, Type: engine.RunStarted, Playbook: c.Plan.Name, Cell: c.Name, CellVars: c.Vars})
	t.handle(engine.Event{Time: now, Type: engine.RunFinished, Playbook: c.Plan.Name, Cell: c.Name,
		Status: engine.StatusCancelled, Error: engine.ErrInterrupted.Error(), Reason: "interrupted before it started"})
}

func (t *tagger) couldNotStart(c Cell, err error) {
	t.handle(engine.Event{Time: time.Now(), Type: engine.RunFinished, Playbook: c.Plan.Name, Cell: c.Name,
		Status: engine.StatusFailed, Error: "the playbook could not start: " + err.Error()})
}

// Worst is the error that decides the job's exit: a cell that could not start, else a failed
// cell, else an interrupted one.
func Worst(errs []error) error {
	var worst error
	rank := func(err error) int {
		switch {
		case err == nil:
			return 0
		case engine.IsInvalidInput(err):
			return 3
		case errors.Is(err, engine.ErrInterrupted):
			return 1
		default:
			return 2
		}
	}
	for _, err := range errs {
		if rank(err) > rank(worst) {
			worst = err
		}
	}
	return worst
}
