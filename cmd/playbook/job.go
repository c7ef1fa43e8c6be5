package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/job"
	"github.com/kindlab/playbook/report"
	"golang.org/x/term"
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
	out := buildJobReporters(f, names)
	if len(loadErrs) > 0 {
		return out.couldNotStart(paths[0], errors.Join(loadErrs...))
	}
	if err := out.addTraces(strings.Join(names, ", ")); err != nil {
		return err
	}
	for _, c := range cells {
		out.warn(c.Plan.Warnings)
	}
	finally := &finallyCount{}
	out.reporters = append(out.reporters, finally)
	ctx, finallyCtx, stop := interruptContexts(out.notice, finally.any)
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

// buildJobReporters: JSON events carry their cell; on a terminal the live view has a lane per
// running cell; plain lines are prefixed with their cell.
func buildJobReporters(f runFlags, cells []string) *reporters {
	r := &reporters{json: f.output == "json", junit: f.junit, comparison: report.NewComparison(cells...)}
	r.add(r.comparison)
	stdoutTTY := term.IsTerminal(int(os.Stdout.Fd()))
	switch {
	case r.json:
		j := report.NewJSONReporter(os.Stdout)
		r.add(j)
		r.noticers = append(r.noticers, j)
	case stdoutTTY && os.Getenv("CI") == "":
		// One view for every cell: a lane each, every line named by its cell.
		live := report.NewLiveReporter(os.Stdout, report.LiveOptions{Color: report.ColorAllowed(), Verbose: f.verbose,
			Size: func() (int, int) {
				w, h, _ := term.GetSize(int(os.Stdout.Fd()))
				return w, h
			}})
		r.add(live)
		r.closers = append(r.closers, live)
		r.noticers = append(r.noticers, live)
	default:
		color := stdoutTTY && report.ColorAllowed()
		stdout := &lockedWriter{w: os.Stdout}
		r.cellReporters = func(cell string) []engine.Reporter {
			text := report.NewTextReporter(&prefixWriter{out: stdout, prefix: "[" + cell + "] "}, color)
			if f.debug {
				text.WithStacks()
			}
			return []engine.Reporter{text}
		}
		r.noticers = append(r.noticers, report.NewTextReporter(stdout, color))
	}
	r.addFiles(f, cells)
	if r.cellReporters == nil {
		r.cellReporters = func(string) []engine.Reporter { return nil }
	}
	return r
}

// finallyCount knows whether any cell has started its finally steps, for what Ctrl-C says.
type finallyCount struct{ started atomic.Bool }

func (f *finallyCount) Handle(e engine.Event) {
	if e.Type == engine.StepStarted && e.Finally {
		f.started.Store(true)
	}
}

func (f *finallyCount) any() bool { return f.started.Load() }

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

// prefixWriter starts every line with its cell's name, writing whole lines only, so that the
// lines of cells running at once never interleave inside a line.
type prefixWriter struct {
	out     io.Writer
	prefix  string
	pending []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.pending = append(p.pending, b...)
	var lines []byte
	for {
		i := bytes.IndexByte(p.pending, '\n')
		if i < 0 {
			break
		}
		lines = append(append(lines, p.prefix...), p.pending[:i+1]...)
		p.pending = p.pending[i+1:]
	}
	if len(lines) > 0 {
		if _, err := p.out.Write(lines); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
