package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kindlab/playbook/engine"
)

// Comparison puts the cells of a job side by side: a row per proof (an assert step, or a step
// marked proof: true), a column
// per cell, each entry the proof's outcome and what it observed (`observed:`), so that the
// table says iptables | iptables | BPF rather than only ticks. It reads events only, so a job
// run here and events merged from separate runs give the same table.
type Comparison struct {
	cells   []string
	rows    []string          // step ids (or names), in the order first seen
	names   map[string]string // row -> step name
	results map[string]map[string]*ProofResult
}

// ProofResult is one proof in one cell.
type ProofResult struct {
	Status   engine.Status
	Observed []string // each distinct value, in order (a looped proof observes per item)
	Error    string
}

// NewComparison starts a table whose columns are cells in this order (a job's, as given);
// other cells are added as they start.
func NewComparison(cells ...string) *Comparison {
	return &Comparison{cells: cells, names: map[string]string{}, results: map[string]map[string]*ProofResult{}}
}

// CellOf is the column an event belongs to: its cell, or its playbook for a run of one.
func CellOf(e engine.Event) string {
	if e.Cell != "" {
		return e.Cell
	}
	return e.Playbook
}

func (c *Comparison) Handle(e engine.Event) {
	cell := CellOf(e)
	switch {
	case e.Type == engine.RunStarted:
		if !slices.Contains(c.cells, cell) {
			c.cells = append(c.cells, cell)
		}
	case e.Type == engine.StepOutput && e.Stream == engine.ObservedStream:
		r := c.result(e, cell)
		if !slices.Contains(r.Observed, e.Line) {
			r.Observed = append(r.Observed, e.Line)
		}
	case e.Type == engine.StepFinished && e.Proof && !e.Finally:
		r := c.result(e, cell)
		r.Status, r.Error = e.Status, e.Error
	}
}

func (c *Comparison) result(e engine.Event, cell string) *ProofResult {
	row := e.ID
	if row == "" {
		row = e.Step
	}
	if _, ok := c.results[row]; !ok {
		c.rows = append(c.rows, row)
		c.names[row] = e.Step
		c.results[row] = map[string]*ProofResult{}
	}
	r, ok := c.results[row][cell]
	if !ok {
		r = &ProofResult{}
		c.results[row][cell] = r
	}
	return r
}

// Cells are the columns, in the order the cells started.
func (c *Comparison) Cells() []string { return c.cells }

// Rows are the proofs, in the order they were first seen.
func (c *Comparison) Rows() []string { return c.rows }

// Name is a row's step name.
func (c *Comparison) Name(row string) string { return c.names[row] }

// Result is a proof's outcome in a cell; nil when the cell never ran it.
func (c *Comparison) Result(row, cell string) *ProofResult { return c.results[row][cell] }

// Entry is how a table shows a result: a mark, then what the proof observed.
func Entry(r *ProofResult) string {
	if r == nil || r.Status == "" {
		return "-"
	}
	mark := map[engine.Status]string{engine.StatusSucceeded: "✓", engine.StatusFailed: "✗", engine.StatusSkipped: "skipped",
		engine.StatusNotRun: "not run", engine.StatusCancelled: "cancelled"}[r.Status]
	if len(r.Observed) == 0 {
		return mark
	}
	return mark + " " + strings.Join(r.Observed, ", ")
}

// Write prints the table, or nothing when no cell ran a proof.
func (c *Comparison) Write(w io.Writer) error {
	if len(c.rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "proof\t%s\n", strings.Join(c.cells, "\t"))
	for _, row := range c.rows {
		entries := make([]string, len(c.cells))
		for i, cell := range c.cells {
			entries[i] = Entry(c.Result(row, cell))
		}
		fmt.Fprintf(tw, "%s\t%s\n", row, strings.Join(entries, "\t"))
	}
	return tw.Flush()
}
