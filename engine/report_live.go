package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// LiveReporter is the terminal view: finished steps scroll by as lines, and the steps still
// running stay at the bottom with a spinner, their elapsed time and their latest output line.
// Output is otherwise kept back, and shown in full only for a step that fails.
type LiveReporter struct {
	mu       sync.Mutex
	w        io.Writer
	p        palette
	width    func() int
	running  map[string]*liveStep
	drawn    int // lines of the bottom area currently on screen
	frame    int
	failures []Event
	stop     chan struct{}
	done     chan struct{}
}

type liveStep struct {
	title   string
	started time.Time
	last    string
	order   int
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// NewLiveReporter starts redrawing; call Close when the run ends.
func NewLiveReporter(w io.Writer, color bool, width func() int) *LiveReporter {
	r := &LiveReporter{w: w, p: palette{on: color}, width: width, running: map[string]*liveStep{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.tick()
	return r
}

func (r *LiveReporter) tick() {
	defer close(r.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			r.frame++
			r.redraw()
			r.mu.Unlock()
		}
	}
}

// Close stops the spinner and leaves the screen clean.
func (r *LiveReporter) Close() error {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	return nil
}

func (r *LiveReporter) Handle(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.Step
	switch e.Type {
	case StepStarted:
		r.running[key] = &liveStep{title: stepTitle(e), started: e.Time, order: e.Index}
	case StepOutput:
		if s := r.running[key]; s != nil {
			s.last = outputLine(e)
		}
	case StepRetrying:
		if s := r.running[key]; s != nil {
			s.last = fmt.Sprintf("attempt %d failed: %s; retrying", e.Attempt, e.Error)
		}
	case StepFinished:
		delete(r.running, key)
		r.clear()
		fmt.Fprintln(r.w, finishedLine(r.p, e))
		if e.Status == StatusFailed && !e.Ignored {
			r.failures = append(r.failures, e)
		}
	case RunFinished:
		r.clear()
		writeSummary(r.w, r.p, e, r.failures)
		return
	}
	r.redraw()
}

func (r *LiveReporter) clear() {
	for ; r.drawn > 0; r.drawn-- {
		fmt.Fprint(r.w, "\x1b[1A\x1b[2K")
	}
}

func (r *LiveReporter) redraw() {
	r.clear()
	steps := make([]*liveStep, 0, len(r.running))
	for _, s := range r.running {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].order < steps[j].order })
	width := 80
	if r.width != nil {
		if w := r.width(); w > 20 {
			width = w
		}
	}
	spin := spinnerFrames[r.frame%len(spinnerFrames)]
	for _, s := range steps {
		line := fmt.Sprintf("%s %s %s", spin, s.title, time.Since(s.started).Round(100*time.Millisecond))
		fmt.Fprintln(r.w, r.p.yellow(truncate(line, width-1)))
		r.drawn++
		if s.last != "" {
			fmt.Fprintln(r.w, r.p.dim(truncate("    "+s.last, width-1)))
			r.drawn++
		}
	}
}

func truncate(s string, width int) string {
	s = strings.ReplaceAll(s, "\t", " ")
	if r := []rune(s); len(r) > width {
		return string(r[:width-1]) + "…"
	}
	return s
}
