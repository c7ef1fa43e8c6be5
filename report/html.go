package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/kindlab/playbook/engine"
)

// What one step keeps for the page: a report is opened from a CI artifact, and a mode's run
// reads thousands of lines of nat tables.
const (
	htmlLogLines   = 300
	htmlValueBytes = 64 << 10
)

// HTMLReporter writes one self-contained page when the job ends: the comparison table, then
// per cell a waterfall of its steps and each step's parameters, outputs and log, open when it
// failed. No script, font or style comes from elsewhere: it opens from a CI artifact as is.
// Like every reporter it reads events only (masked already), so a merged report is the same.
type HTMLReporter struct {
	path       string
	comparison *Comparison
	cells      map[string]*htmlCell
	order      []string
}

type htmlCell struct {
	Name, Playbook string
	Vars           map[string]string
	Start, End     time.Time
	Status         engine.Status
	Error          string
	Steps          []*htmlStep
	open           map[string]*htmlStep // by step name, until it finishes
}

type htmlStep struct {
	Name, ID, Type   string
	Finally, Ignored bool
	Start            time.Time
	Seconds          float64
	Status           engine.Status
	Error, Reason    string
	Params, Outputs  string
	Log              []string
	Dropped          int // log lines not kept
	Retries          int
	Items            []*htmlItem
}

type htmlItem struct {
	Name    string
	Start   time.Time
	Seconds float64
	Status  engine.Status
}

// NewHTMLReporter writes the page to path on Close, its columns the cells in this order (a
// job's, as given), then any other as it starts.
func NewHTMLReporter(path string, cells ...string) *HTMLReporter {
	r := &HTMLReporter{path: path, comparison: NewComparison(cells...), cells: map[string]*htmlCell{}}
	for _, name := range cells {
		r.cells[name] = &htmlCell{Name: name, open: map[string]*htmlStep{}}
		r.order = append(r.order, name)
	}
	return r
}

func (r *HTMLReporter) cell(e engine.Event) *htmlCell {
	name := CellOf(e)
	c, ok := r.cells[name]
	if !ok {
		c = &htmlCell{Name: name, open: map[string]*htmlStep{}}
		r.cells[name] = c
		r.order = append(r.order, name)
	}
	c.Playbook = e.Playbook
	return c
}

func (r *HTMLReporter) Handle(e engine.Event) {
	r.comparison.Handle(e)
	c := r.cell(e)
	switch e.Type {
	case engine.RunStarted:
		c.Start, c.Vars = e.Time, e.CellVars
	case engine.StepStarted:
		s := &htmlStep{Name: e.Step, ID: e.ID, Type: e.StepType, Finally: e.Finally, Start: e.Time, Params: shortJSON(e.Params)}
		c.Steps = append(c.Steps, s)
		c.open[e.Step] = s
	case engine.StepOutput:
		if s := c.open[e.Step]; s != nil {
			s.Log = append(s.Log, outputLine(e))
			if len(s.Log) > htmlLogLines {
				s.Dropped += len(s.Log) - htmlLogLines
				s.Log = s.Log[len(s.Log)-htmlLogLines:]
			}
		}
	case engine.StepRetrying:
		if s := c.open[e.Step]; s != nil {
			s.Retries++
		}
	case engine.ItemStarted:
		if s := c.open[e.Step]; s != nil {
			s.Items = append(s.Items, &htmlItem{Name: e.Item, Start: e.Time})
		}
	case engine.ItemFinished:
		if s := c.open[e.Step]; s != nil {
			for _, it := range s.Items {
				if it.Name == e.Item && it.Status == "" {
					it.Seconds, it.Status = e.Seconds, e.Status
					break
				}
			}
		}
	case engine.StepFinished:
		s := c.open[e.Step]
		delete(c.open, e.Step)
		if s == nil { // not run, or replayed: it never started
			s = &htmlStep{Name: e.Step, ID: e.ID, Type: e.StepType, Finally: e.Finally, Start: e.Time}
			c.Steps = append(c.Steps, s)
		}
		s.Seconds, s.Status, s.Error, s.Ignored, s.Reason = e.Seconds, e.Status, e.Error, e.Ignored, e.Reason
		s.Outputs = shortJSON(e.Outputs)
	case engine.RunFinished:
		c.End, c.Status, c.Error = e.Time, e.Status, e.Error
	}
}

func shortJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > htmlValueBytes {
		return string(b[:htmlValueBytes]) + fmt.Sprintf("\n… %d more bytes not shown", len(b)-htmlValueBytes)
	}
	return string(b)
}

// Close writes the page.
func (r *HTMLReporter) Close() error {
	page := htmlPage{Generated: time.Now().UTC().Format(time.RFC3339), Comparison: r.comparisonRows()}
	for _, name := range r.order {
		page.Cells = append(page.Cells, r.cells[name].view())
	}
	f, err := os.Create(r.path)
	if err != nil {
		return err
	}
	if err := htmlTemplate.Execute(f, page); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type htmlPage struct {
	Generated  string
	Comparison htmlTable
	Cells      []htmlCellView
}

type htmlTable struct {
	Cells []string
	Rows  []htmlRow
}

type htmlRow struct {
	Proof, Name string
	Entries     []htmlEntry
}

type htmlEntry struct {
	Text, Class, Error string
}

func (r *HTMLReporter) comparisonRows() htmlTable {
	t := htmlTable{Cells: r.comparison.Cells()}
	for _, row := range r.comparison.Rows() {
		hr := htmlRow{Proof: row, Name: r.comparison.Name(row)}
		for _, cell := range t.Cells {
			res := r.comparison.Result(row, cell)
			e := htmlEntry{Text: Entry(res), Class: "none"}
			if res != nil {
				e.Class, e.Error = string(res.Status), res.Error
			}
			hr.Entries = append(hr.Entries, e)
		}
		t.Rows = append(t.Rows, hr)
	}
	return t
}

type htmlCellView struct {
	*htmlCell
	Seconds float64
	Bars    []htmlBar
}

// htmlBar is a step's row in the waterfall: where it starts and how long it takes, in
// percent of the cell's run.
type htmlBar struct {
	*htmlStep
	Left, Width float64
	Open        bool
	Anchor      string
	ItemBars    []htmlItemBar
}

type htmlItemBar struct {
	*htmlItem
	Left, Width float64
}

func (c *htmlCell) view() htmlCellView {
	end := c.End
	if end.IsZero() {
		end = time.Now()
	}
	total := end.Sub(c.Start).Seconds()
	v := htmlCellView{htmlCell: c, Seconds: total}
	at := func(t time.Time, seconds float64) (float64, float64) {
		if total <= 0 {
			return 0, 0
		}
		left := max(t.Sub(c.Start).Seconds(), 0) / total * 100
		return left, min(seconds/total*100, 100-left)
	}
	for i, s := range c.Steps {
		b := htmlBar{htmlStep: s, Anchor: fmt.Sprintf("%s-%d", c.Name, i),
			Open: s.Status == engine.StatusFailed || s.Status == engine.StatusCancelled}
		b.Left, b.Width = at(s.Start, s.Seconds)
		for _, it := range s.Items {
			ib := htmlItemBar{htmlItem: it}
			ib.Left, ib.Width = at(it.Start, it.Seconds)
			b.ItemBars = append(b.ItemBars, ib)
		}
		v.Bars = append(v.Bars, b)
	}
	return v
}
