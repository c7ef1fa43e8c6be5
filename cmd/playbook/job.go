package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/job"
)

// runJob runs several playbooks as the cells of one job. Every playbook is loaded and checked
// first: if any is wrong, nothing runs (exit 2). Each cell keeps its own state file, so that
// --resume skips what each cell already passed. The exit is the worst cell's.
func runJob(paths []string, f runFlags) error {
	if f.state != "" {
		return &usageError{errors.New("--state names one run's state file: with several playbooks each cell keeps its own")}
	}
	cells, loadErrs := loadCells(paths, f.load)
	var names []string
	for _, c := range cells {
		names = append(names, c.Name)
	}
	out := buildReporters(f, names)
	if len(loadErrs) > 0 {
		return out.couldNotStart(paths[0], errors.Join(loadErrs...))
	}
	if err := out.addTraces(strings.Join(names, ", ")); err != nil {
		return err
	}
	for _, c := range cells {
		out.warn(c.Plan.Warnings)
	}
	phase := &phaseReporter{}
	out.reporters = append(out.reporters, phase)
	ctx, finallyCtx, stop := interruptContexts(out.notice, phase.inFinally)
	defer stop()
	errs := job.Run(ctx, cells, job.Options{Jobs: f.jobs, Run: engine.RunOptions{Only: f.only, StartAt: f.startAt,
		Timeout: f.timeout, Resume: f.resume}, CellReporters: out.cellReporters, Reporters: out.reporters, FinallyContext: finallyCtx})
	runErr := job.Worst(errs)
	// The live view is gone once closed: the table comes after it.
	if err := out.close(); err != nil && runErr == nil {
		return err
	}
	if !out.json {
		fmt.Println()
		if err := out.comparison.Write(os.Stdout); err != nil {
			return err
		}
	}
	if runErr != nil {
		if engine.IsInvalidInput(runErr) {
			return &alreadyReported{&invalid{runErr}}
		}
		return &alreadyReported{runErr}
	}
	return nil
}

// lockedWriter lets the cells' reporters share stdout a whole line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
