package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/model"
	"github.com/kindlab/playbook/report"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type runFlags struct {
	load    loadFlags
	only    []string
	startAt string
	output  string
	junit   string
	html    string
	timeout time.Duration
	resume  bool
	state   string
	verbose bool
	debug   bool
	jobs    int
}

func newRunCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE...",
		Short: "Run a playbook, or several as the cells of one job",
		Long: `Run a playbook: load and check it all (nothing runs if anything is wrong), then run its
steps in order, then its finally steps, whatever happened before.

Progress: on a terminal, a live view (the running steps, their latest output line, the
full output of a failed step at the end); plain lines when stdout is not a terminal or CI is
set; one JSON event per line with --output json.

Ctrl-C stops the running step and runs the finally steps; a second Ctrl-C stops those too.
What a step left running in the background (cmd &) is stopped when the run ends.

Several playbooks run as the cells of one job (one at a time, or --jobs N at once), each
with its own state file; every line and JSON event names its cell, JUnit has a suite per
cell, and a table at the end puts every cell's proofs (assert steps) side by side. The exit
code is the worst cell's.`,
		Example: `  playbook run playbooks/kpr-ebpf.yaml
  playbook run playbooks/kpr.yaml --vars-file playbooks/vars/lab.yaml --var cleanup=true
  playbook run playbooks/kpr.yaml --start-at cilium-config          # checks only, on an existing cluster
  playbook run pb.yaml --resume                                     # after a failure: skip what succeeded
  playbook run pb.yaml -o json --junit report.xml | jq 'select(.type == "step-finished")'
  playbook run playbooks/kubeproxy.yaml playbooks/kpr.yaml playbooks/kpr-ebpf.yaml --junit modes.xml`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || model.IsMatrix(args[0]) {
				return runJob(args, f)
			}
			if f.jobs != 1 {
				return &usageError{errors.New("--jobs runs several playbooks at once: give more than one")}
			}
			return runPlaybook(args[0], f)
		},
	}
	f.load.register(cmd)
	flags := cmd.Flags()
	flags.StringArrayVar(&f.only, "only", nil, "run only the step with this id; repeatable (finally steps still run)")
	flags.StringVar(&f.startAt, "start-at", "", "skip the steps before the one with this id")
	flags.StringVarP(&f.output, "output", "o", "text", "progress format: text (live view on a terminal, plain lines otherwise) or json (one event per line)")
	flags.StringVar(&f.junit, "junit", "", "write a JUnit XML report, one testcase per step, to this file")
	flags.StringVar(&f.html, "html", "", "write a self-contained HTML report (proofs side by side, each step's timeline, parameters, outputs and log) to this file")
	flags.DurationVar(&f.timeout, "timeout", 0, "stop the main steps after this long (finally steps still run)")
	flags.BoolVar(&f.resume, "resume", false, "skip steps that succeeded in the last run with the same inputs, and go on from there")
	flags.StringVar(&f.state, "state", "", "run state file (default $XDG_STATE_HOME/playbook/runs/NAME-HASH.json)")
	flags.BoolVarP(&f.verbose, "verbose", "v", false, "on a terminal, show every step's output as plain lines do")
	flags.BoolVar(&f.debug, "debug", false, "show where a step type panicked (the stack)")
	flags.IntVar(&f.jobs, "jobs", 1, "with several playbooks: how many run at once (each kind cluster takes about 1 GB and a core while it starts)")
	registerStepCompletion(cmd, "only", "start-at")
	return cmd
}

func runPlaybook(path string, f runFlags) error {
	if f.output != "text" && f.output != "json" {
		return &usageError{fmt.Errorf("--output must be text or json, got %q", f.output)}
	}
	out := buildReporters(f, nil)
	pb, err := engine.Load(path, f.load.options())
	if err != nil {
		return out.couldNotStart(path, err)
	}
	out.warn(pb.Warnings)
	if err := out.addTraces(pb.Name); err != nil {
		return err
	}
	phase := &phaseReporter{}
	out.reporters = append(out.reporters, phase)
	ctx, finallyCtx, stop := interruptContexts(out.notice, phase.inFinally)
	defer stop()
	state := f.state
	if state == "" {
		state = engine.DefaultStatePath(pb)
	}
	_, runErr := pb.Run(ctx, engine.RunOptions{Only: f.only, StartAt: f.startAt, Timeout: f.timeout,
		Reporters: out.reporters, FinallyContext: finallyCtx, StatePath: state, Resume: f.resume})
	var stepErr *engine.StepError
	if runErr != nil && !errors.As(runErr, &stepErr) && engine.IsInvalidInput(runErr) {
		// Nothing ran: a bad --only or --start-at, a secret without a value.
		return out.couldNotStart(path, runErr)
	}
	if err := out.close(); err != nil && runErr == nil {
		return err
	}
	if runErr != nil {
		return &alreadyReported{runErr}
	}
	return nil
}

// reporters are where a run's events go, and how a run that could not start is reported.
type reporters struct {
	reporters []engine.Reporter
	closers   []io.Closer
	noticers  []interface{ Notice(string) }
	json      bool
	junit     string
	// A job's: every cell's proofs side by side, and each cell's own reporters.
	comparison    *report.Comparison
	cellReporters func(cell string) []engine.Reporter
}

// buildReporters: JSON events, or on a terminal the live view, or plain lines; the files the
// flags ask for. A job's (cells given): events and lines name their cell, the live view has a
// lane per running cell, and a table compares the cells' proofs.
func buildReporters(f runFlags, cells []string) *reporters {
	r := &reporters{json: f.output == "json", junit: f.junit, cellReporters: func(string) []engine.Reporter { return nil }}
	if cells != nil {
		r.comparison = report.NewComparison(cells...)
		r.add(r.comparison)
	}
	stdoutTTY := term.IsTerminal(int(os.Stdout.Fd()))
	color := stdoutTTY && report.ColorAllowed()
	text := func(w io.Writer) *report.TextReporter {
		t := report.NewTextReporter(w, color)
		if f.debug {
			t.WithStacks()
		}
		return t
	}
	switch {
	case r.json:
		j := report.NewJSONReporter(os.Stdout)
		r.add(j)
		r.noticers = append(r.noticers, j)
	case stdoutTTY && os.Getenv("CI") == "":
		live := report.NewLiveReporter(os.Stdout, report.LiveOptions{Color: report.ColorAllowed(), Verbose: f.verbose,
			Size: func() (int, int) {
				w, h, _ := term.GetSize(int(os.Stdout.Fd()))
				return w, h
			}})
		r.add(live)
		r.closers = append(r.closers, live)
		r.noticers = append(r.noticers, live)
	case cells != nil:
		stdout := &lockedWriter{w: os.Stdout}
		r.cellReporters = func(cell string) []engine.Reporter {
			return []engine.Reporter{text(&report.LinePrefixer{Out: stdout, Prefix: "[" + cell + "] "})}
		}
		r.noticers = append(r.noticers, text(stdout))
	default:
		t := text(os.Stdout)
		r.add(t)
		r.noticers = append(r.noticers, t)
	}
	r.addFiles(f, cells)
	return r
}

// addTraces exports the run's spans when the environment asks for them (OTEL_*): the last
// reporter added, so that it is closed, and its spans sent, after the others.
func (r *reporters) addTraces(job string) error {
	tr, err := report.NewTraceReporter(context.Background(), job)
	if err != nil {
		return &usageError{fmt.Errorf("traces: %w (see OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT)", err)}
	}
	if tr != nil {
		r.add(tr)
		r.closers = append(r.closers, tr)
	}
	return nil
}

// addFiles adds the reports written to files when the run ends.
func (r *reporters) addFiles(f runFlags, cells []string) {
	if f.junit != "" {
		j := report.NewJUnitReporter(f.junit)
		r.add(j)
		r.closers = append(r.closers, j)
	}
	if f.html != "" {
		h := report.NewHTMLReporter(f.html, cells...)
		r.add(h)
		r.closers = append(r.closers, h)
	}
}

func (r *reporters) add(rep engine.Reporter) { r.reporters = append(r.reporters, rep) }

func (r *reporters) notice(text string) {
	for _, n := range r.noticers {
		n.Notice(text)
	}
}

// warn shows what validate would warn about, before the run starts.
func (r *reporters) warn(ds model.Diagnostics) {
	if len(ds) == 0 {
		return
	}
	if r.json {
		for _, d := range ds {
			r.notice(d.Error())
		}
		return
	}
	for _, d := range ds {
		fmt.Fprintln(os.Stderr, d.Error())
	}
}

// couldNotStart reports a run that never started (a wrong playbook, a missing secret) where
// it will be looked for: on stderr as file:line:col lines; as a run-finished event carrying
// the diagnostics with --output json; as a JUnit file with one error testcase, so that a
// dashboard never shows the last run's green, or an empty suite, for a run that did not
// happen. Exit code 2.
func (r *reporters) couldNotStart(path string, err error) error {
	ds, ok := model.AsDiagnostics(err)
	if !ok {
		ds = model.Diagnostics{{Msg: err.Error()}}
	}
	ev := engine.Event{Time: time.Now(), Type: engine.RunFinished, Playbook: path, Status: engine.StatusFailed,
		Error: "the playbook could not start: " + err.Error(), Diagnostics: ds}
	for _, rep := range r.reporters {
		if _, isJUnit := rep.(*report.JUnitReporter); isJUnit || r.json {
			rep.Handle(ev)
		}
	}
	if !r.json {
		fmt.Fprintln(os.Stderr, err)
	}
	if cerr := r.close(); cerr != nil {
		fmt.Fprintln(os.Stderr, "playbook: "+cerr.Error())
	}
	return &alreadyReported{&invalid{err}}
}

func (r *reporters) close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

// invalid marks an error that means nothing ran because the input was wrong: exit code 2.
type invalid struct{ err error }

func (e *invalid) Error() string { return e.err.Error() }
func (e *invalid) Unwrap() error { return e.err }

// interruptContexts returns the run's context, cancelled by the first Ctrl-C or SIGTERM, and
// the context of finally steps, cancelled only by a second one: cleanup still runs after an
// interruption, and a user in a hurry can still get out.
func interruptContexts(notice func(string), inFinally func() bool) (context.Context, context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	finallyCtx, cancelFinally := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
			if inFinally() {
				notice("interrupted during the finally steps: the cleanup goes on, then the run ends as interrupted (press Ctrl-C again to stop the cleanup)")
			} else {
				notice("interrupted: stopping the current step, then running the finally steps (press Ctrl-C again to stop the cleanup)")
			}
			cancel(engine.ErrInterrupted)
		case <-done:
			return
		}
		select {
		case <-signals:
			notice("interrupted again: stopping the cleanup")
			cancelFinally(engine.ErrInterrupted)
		case <-done:
		}
	}()
	return ctx, finallyCtx, func() {
		signal.Stop(signals)
		close(done)
		cancel(nil)
		cancelFinally(nil)
	}
}

// phaseReporter knows whether the finally steps have started, for what Ctrl-C says it stops.
type phaseReporter struct{ finally atomic.Bool }

func (p *phaseReporter) Handle(e engine.Event) {
	if e.Type == engine.StepStarted && e.Finally {
		p.finally.Store(true)
	}
}

func (p *phaseReporter) inFinally() bool { return p.finally.Load() }
