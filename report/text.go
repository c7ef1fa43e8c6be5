package report

import (
	"github.com/kindlab/playbook/engine"

	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// palette colours text for a terminal, or leaves it plain (NO_COLOR, files, CI logs).
type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) green(s string) string  { return p.wrap("32", s) }
func (p palette) red(s string) string    { return p.wrap("31", s) }
func (p palette) yellow(s string) string { return p.wrap("33", s) }
func (p palette) dim(s string) string    { return p.wrap("2", s) }
func (p palette) bold(s string) string   { return p.wrap("1", s) }

// ColorAllowed reports whether colour may be used on a terminal: https://no-color.org.
func ColorAllowed() bool { return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" }

// TextReporter prints plain lines: one when a step starts and ends, each output line
// indented under its step. It is what CI logs and pipes get.
type TextReporter struct {
	w     io.Writer
	p     palette
	debug bool
	failureLog
}

// failureLog collects what a run's summary lists: each failed step, and for a looped step
// each failed item, named as its name renders.
type failureLog struct {
	failures    []engine.Event
	failedItems map[string][]engine.Event
}

func (f *failureLog) see(e engine.Event) {
	if e.Status != engine.StatusFailed || e.Ignored {
		return
	}
	key := e.Cell + "\x00" + e.Step // the cells of a job may share step names
	switch e.Type {
	case engine.ItemFinished:
		if f.failedItems == nil {
			f.failedItems = map[string][]engine.Event{}
		}
		f.failedItems[key] = append(f.failedItems[key], e)
	case engine.StepFinished:
		f.failures = append(f.failures, itemFailures(e, f.failedItems[key])...)
		delete(f.failedItems, key)
	}
}

// NewTextReporter prints to w; color for a terminal.
func NewTextReporter(w io.Writer, color bool) *TextReporter {
	return &TextReporter{w: w, p: palette{on: color}}
}

// WithStacks also prints where a step type panicked (--debug).
func (r *TextReporter) WithStacks() *TextReporter {
	r.debug = true
	return r
}

func (r *TextReporter) Handle(e engine.Event) {
	r.see(e)
	switch e.Type {
	case engine.RunStarted:
		fmt.Fprintf(r.w, "%s %s (%s)\n", r.p.bold("playbook"), e.Playbook, stepCount(e))
	case engine.StepStarted:
		fmt.Fprintf(r.w, "%s %s\n", r.p.dim(counter(e)), stepTitle(e))
	case engine.StepOutput:
		fmt.Fprintf(r.w, "    %s\n", outputLine(e))
	case engine.StepRetrying:
		fmt.Fprintln(r.w, retryLine(r.p, e))
	case engine.Notice:
		fmt.Fprintln(r.w, r.p.yellow(e.Line))
	case engine.StepFinished:
		fmt.Fprintln(r.w, finishedLine(r.p, e))
	case engine.RunFinished:
		writeSummary(r.w, r.p, e, r.failures, r.debug)
	}
}

// Notice shows a line now (what Ctrl-C does).
func (r *TextReporter) Notice(text string) { r.Handle(engine.Event{Type: engine.Notice, Line: text}) }

// itemFailures turns a looped step's failure into one per failed item, each named as the
// item's name renders, with its own output lines: the step's template name is no one's.
func itemFailures(step engine.Event, items []engine.Event) []engine.Event {
	if len(items) == 0 {
		return []engine.Event{step}
	}
	out := make([]engine.Event, len(items))
	for i, item := range items {
		f := step
		f.Step, f.Error, f.Output = item.Item, item.Error, itemLines(step.Output, item.Item)
		f.Item, f.ItemIndex, f.Items = step.Step, item.ItemIndex, item.Items // Item: the step's own name
		out[i] = f
	}
	return out
}

func retryLine(p palette, e engine.Event) string {
	item := ""
	if e.Item != "" {
		item = "[" + e.Item + "] "
	}
	return fmt.Sprintf("    %s %sattempt %d failed: %s; retrying", p.yellow("↻"), item, e.Attempt, e.Error)
}

func counter(e engine.Event) string {
	switch {
	case e.Total == 0:
		return ""
	case e.Finally:
		return fmt.Sprintf("[cleanup %d/%d]", e.Index, e.Total)
	}
	return fmt.Sprintf("[%d/%d]", e.Index, e.Total)
}

// stepCount says how many steps a run has, the cleanup apart: "3 steps, 1 cleanup".
func stepCount(e engine.Event) string {
	plural := func(n int, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	text := plural(e.Total, "step")
	if e.Cleanup > 0 {
		text += ", " + plural(e.Cleanup, "cleanup step")
	}
	return text
}

func stepTitle(e engine.Event) string {
	title := e.Step
	if e.Finally {
		title = "finally: " + title
	}
	return title + " (" + e.StepType + ")"
}

func outputLine(e engine.Event) string {
	var b strings.Builder
	if e.Item != "" {
		b.WriteString("[" + e.Item + "] ")
	}
	if e.Prefix != "" {
		b.WriteString(e.Prefix + " | ")
	}
	if e.Stream == engine.ObservedStream {
		b.WriteString("observed: ")
	}
	b.WriteString(e.Line)
	return b.String()
}

func finishedLine(p palette, e engine.Event) string {
	took := formatSeconds(e.Seconds)
	switch e.Status {
	case engine.StatusSucceeded:
		return fmt.Sprintf("%s %s %s", p.green("✓"), e.Step, p.dim(took))
	case engine.StatusSkipped:
		if e.Reason != "" {
			return fmt.Sprintf("%s %s %s", p.dim("-"), e.Step, p.dim("skipped: "+e.Reason))
		}
		return fmt.Sprintf("%s %s %s", p.dim("-"), e.Step, p.dim("skipped"))
	case engine.StatusCancelled:
		return fmt.Sprintf("%s %s %s", p.yellow("■"), e.Step, p.yellow("cancelled after "+took))
	case engine.StatusNotRun:
		return fmt.Sprintf("%s %s %s", p.dim("-"), e.Step, p.dim("not run: "+e.Reason))
	}
	if e.Ignored {
		return fmt.Sprintf("%s %s %s: %s", p.yellow("✗"), e.Step, p.yellow("failed (ignoreErrors: the run goes on)"), e.Error)
	}
	return fmt.Sprintf("%s %s %s: %s", p.red("✗"), e.Step, p.red("failed after "+took), e.Error)
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// writeSummary ends a run with its outcome and, for each failed step, its cause and the
// output that shows it, so a user never scrolls back to find out what went wrong.
func writeSummary(w io.Writer, p palette, e engine.Event, failures []engine.Event, stacks bool) {
	for _, f := range failures {
		fmt.Fprintf(w, "\n%s step %q", p.red("FAILED"), f.Step)
		switch {
		case f.Items > 0:
			fmt.Fprintf(w, " (item %d of %d of step %q)", f.ItemIndex+1, f.Items, f.Item)
		case f.ID != "" && f.ID != f.Step:
			fmt.Fprintf(w, " (id %s)", f.ID)
		}
		fmt.Fprintf(w, ": %s\n", f.Error)
		if len(f.Output) > 0 {
			fmt.Fprintf(w, "  last %d lines of output:\n", len(f.Output))
			for _, l := range f.Output {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
		if f.Stack != "" {
			if stacks {
				fmt.Fprintf(w, "  stack:\n%s\n", indent(f.Stack, "    "))
			} else {
				fmt.Fprintf(w, "  (run with --debug to see where it panicked)\n")
			}
		}
	}
	cleanup := ""
	if e.Reason != "" {
		cleanup = " (" + e.Reason + ")"
	}
	switch e.Status {
	case engine.StatusSucceeded:
		fmt.Fprintf(w, "%s in %s\n", p.green("playbook "+e.Playbook+" succeeded"), formatSeconds(e.Seconds))
	case engine.StatusCancelled:
		fmt.Fprintf(w, "%s after %s%s\n", p.yellow("playbook "+e.Playbook+" interrupted"), formatSeconds(e.Seconds), cleanup)
	default:
		why := ""
		if len(failures) == 0 && e.Error != "" {
			why = ": " + e.Error // no step failed: the run itself did (its state could not be saved)
		}
		fmt.Fprintf(w, "%s after %s%s%s\n", p.red("playbook "+e.Playbook+" failed"), formatSeconds(e.Seconds), why, cleanup)
	}
}

func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
