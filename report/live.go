package report

import (
	"github.com/kindlab/playbook/engine"

	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clipperhouse/displaywidth"
	"github.com/clipperhouse/uax29/v2/graphemes"
)

// LiveReporter is the terminal view: finished steps scroll by as lines, and the steps still
// running stay at the bottom with a spinner, their elapsed time and their latest output line;
// a loop shows how many items are done and the latest line of each item running, as many as
// the terminal has rows for. `log` steps' messages always scroll by; with verbose, every
// step's output does. The full output of a failed step comes at the end.
//
// Every line of the bottom area is cut to the terminal's width in cells (wide characters take
// two), so that each takes exactly one row and redrawing erases exactly what was drawn.
//
// The cells of a job share the view: each running cell is a lane of its running steps, every
// line names its cell, and a cell's failures are summed up when it ends.
type LiveReporter struct {
	mu      sync.Mutex
	w       io.Writer
	p       palette
	size    func() (int, int)
	verbose bool
	running map[string]*liveStep // by cell and step
	cells   map[string]int       // each cell's lane, in the order the cells started
	drawn   int                  // rows of the bottom area on screen now
	frame   int
	failureLog
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

type liveStep struct {
	cell        string
	title       string
	started     time.Time
	last        string
	order       int
	items       map[string]*liveItem
	done, total int
}

type liveItem struct {
	last  string
	order int
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// LiveOptions configure the terminal view.
type LiveOptions struct {
	Color bool
	// Size returns the terminal's width and height in cells.
	Size func() (width, height int)
	// Verbose shows every step's output as plain lines do, not only the latest line.
	Verbose bool
}

// NewLiveReporter starts redrawing; call Close when the run ends.
func NewLiveReporter(w io.Writer, opts LiveOptions) *LiveReporter {
	r := &LiveReporter{w: w, p: palette{on: opts.Color}, size: opts.Size, verbose: opts.Verbose,
		running: map[string]*liveStep{}, cells: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
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
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	return nil
}

// Notice shows a line above the running steps (what Ctrl-C does now).
func (r *LiveReporter) Notice(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintln(r.w, r.p.yellow(text))
	r.redraw()
}

// lane is how a line of a job's cell starts: its name.
func lane(e engine.Event) string {
	if e.Cell == "" {
		return ""
	}
	return "[" + e.Cell + "] "
}

func (r *LiveReporter) Handle(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.Cell + "\x00" + e.Step
	s := r.running[key]
	r.see(e)
	switch e.Type {
	case engine.RunStarted:
		if _, ok := r.cells[e.Cell]; !ok {
			r.cells[e.Cell] = len(r.cells)
		}
	case engine.StepStarted:
		r.running[key] = &liveStep{cell: e.Cell, title: lane(e) + stepTitle(e), started: e.Time, order: e.Index, items: map[string]*liveItem{}}
	case engine.ItemStarted:
		if s != nil {
			s.total = e.Items
			s.items[e.Item] = &liveItem{order: e.ItemIndex}
		}
	case engine.ItemFinished:
		if s != nil {
			delete(s.items, e.Item)
			s.done++
		}
	case engine.StepOutput:
		if r.verbose || e.StepType == "log" {
			r.scroll(lane(e) + r.p.dim("    ") + outputLine(e))
		}
		if s == nil {
			break
		}
		if it := s.items[e.Item]; it != nil && e.Item != "" {
			it.last = outputLine(engine.Event{Prefix: e.Prefix, Line: e.Line})
		} else {
			s.last = outputLine(e)
		}
	case engine.StepRetrying:
		if s != nil {
			s.last = fmt.Sprintf("attempt %d failed; retrying", e.Attempt)
		}
		if r.verbose {
			r.scroll(lane(e) + retryLine(r.p, e))
		}
	case engine.StepFinished:
		delete(r.running, key)
		r.scroll(lane(e) + finishedLine(r.p, e))
	case engine.RunFinished:
		r.clear()
		var mine []engine.Event
		for _, f := range r.failures {
			if f.Cell == e.Cell {
				mine = append(mine, f)
			}
		}
		w := r.w
		if e.Cell != "" {
			w = &LinePrefixer{Out: r.w, Prefix: lane(e)}
		}
		writeSummary(w, r.p, e, mine, false)
		if e.Cell != "" {
			r.redraw()
		}
		return
	}
	r.redraw()
}

// scroll prints a line above the bottom area.
func (r *LiveReporter) scroll(line string) {
	r.clear()
	fmt.Fprintln(r.w, line)
}

func (r *LiveReporter) clear() {
	for ; r.drawn > 0; r.drawn-- {
		fmt.Fprint(r.w, "\x1b[1A\x1b[2K")
	}
}

func (r *LiveReporter) redraw() {
	if r.closed {
		return
	}
	r.clear()
	width, height := 80, 24
	if r.size != nil {
		if w, h := r.size(); w > 20 {
			width, height = w, max(h, 4)
		}
	}
	steps := make([]*liveStep, 0, len(r.running))
	for _, s := range r.running {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool {
		if a, b := r.cells[steps[i].cell], r.cells[steps[j].cell]; a != b {
			return a < b
		}
		return steps[i].order < steps[j].order
	})
	spin := spinnerFrames[r.frame%len(spinnerFrames)]
	var rows []string
	for _, s := range steps {
		title := fmt.Sprintf("%s %s %s", spin, s.title, time.Since(s.started).Round(100*time.Millisecond))
		if s.total > 0 {
			title += fmt.Sprintf("  %d/%d done", s.done, s.total)
		}
		rows = append(rows, r.p.yellow(cut(title, width-1)))
		items := make([]string, 0, len(s.items))
		for label := range s.items {
			items = append(items, label)
		}
		sort.Slice(items, func(i, j int) bool { return s.items[items[i]].order < s.items[items[j]].order })
		for _, label := range items {
			rows = append(rows, r.p.dim(cut("    ["+label+"] "+s.items[label].last, width-1)))
		}
		if len(items) == 0 && s.last != "" {
			rows = append(rows, r.p.dim(cut("    "+s.last, width-1)))
		}
	}
	// Keep a row for the cursor, and the rest of the screen for what scrolled by.
	if limit := height - 1; len(rows) > limit {
		more := len(rows) - limit + 1
		rows = append(rows[:limit-1], r.p.dim(fmt.Sprintf("    … %d more lines", more)))
	}
	for _, row := range rows {
		fmt.Fprintln(r.w, row)
	}
	r.drawn = len(rows)
}

// cut makes text fit in width terminal cells: escape sequences and control characters a
// command printed are dropped, a tab is a space, and wide characters (CJK, emoji) count two
// cells. Text is taken by grapheme cluster, so a cut never splits a character.
func cut(text string, width int) string {
	var b strings.Builder
	g := graphemes.FromString(text)
	g.AnsiEscapeSequences = true // one cluster each, so they can be dropped whole
	for g.Next() {
		v := g.Value()
		switch {
		case v == "\t":
			b.WriteByte(' ')
		case v[0] == 0x1b, v[0] < 0x20, v[0] == 0x7f:
		default:
			b.WriteString(v)
		}
	}
	text = b.String()
	if displaywidth.String(text) <= width {
		return text
	}
	return displaywidth.TruncateString(text, width, "…")
}
