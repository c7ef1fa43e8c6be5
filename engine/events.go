package engine

import (
	"sync"
	"time"
)

// Status is how a step ended.
type Status string

const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	// StatusNotRun is a step the run never reached: an earlier step failed, the playbook
	// timed out, or Ctrl-C stopped it.
	StatusNotRun Status = "not-run"
)

// EventType names what happened.
type EventType string

const (
	RunStarted   EventType = "run-started"
	StepStarted  EventType = "step-started"
	StepOutput   EventType = "output"
	StepRetrying EventType = "retry"
	// ItemStarted and ItemFinished frame each item of a looped step.
	ItemStarted  EventType = "item-started"
	ItemFinished EventType = "item-finished"
	// Notice is something the user should know now (Ctrl-C was pressed).
	Notice       EventType = "notice"
	StepFinished EventType = "step-finished"
	RunFinished  EventType = "run-finished"
)

// OutputTailLen is how many last output lines a failed step's report shows.
const OutputTailLen = 30

// Event is one thing a reporter shows. The JSON form is the `--output json` protocol: one
// object per line, fields omitted when empty.
type Event struct {
	Time     time.Time `json:"time"`
	Type     EventType `json:"type"`
	Playbook string    `json:"playbook,omitempty"`
	// Cell names the run among the runs of one job (playbook run A.yaml B.yaml): every event
	// of a cell carries it, so that reports can show the cells side by side.
	Cell string `json:"cell,omitempty"`
	// CellVars are a cell's own vars (run-started), for reports to say what the cell was.
	CellVars  map[string]string `json:"cellVars,omitempty"`
	Step      string            `json:"step,omitempty"`
	ID        string            `json:"id,omitempty"`
	StepType  string            `json:"stepType,omitempty"`
	Finally   bool              `json:"finally,omitempty"`
	Proof     bool              `json:"proof,omitempty"`     // a proof step (proof: true, or an assert without proof: false): reports compare it
	Index     int               `json:"index,omitempty"`     // 1-based position among the selected main steps, or among the finally steps
	Total     int               `json:"total,omitempty"`     // main steps (a finally step: finally steps)
	Cleanup   int               `json:"cleanup,omitempty"`   // run-started: how many finally steps
	Item      string            `json:"item,omitempty"`      // the loop item, when the step loops
	ItemIndex int               `json:"itemIndex,omitempty"` // its index
	Items     int               `json:"items,omitempty"`     // how many items the loop has
	Prefix    string            `json:"prefix,omitempty"`    // where an output line came from (a container)
	Stream    string            `json:"stream,omitempty"`    // stdout or stderr
	Line      string            `json:"line,omitempty"`
	Attempt   int               `json:"attempt,omitempty"`
	Status    Status            `json:"status,omitempty"`
	Seconds   float64           `json:"seconds,omitempty"`
	Error     string            `json:"error,omitempty"`
	Ignored   bool              `json:"ignored,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Output    []string          `json:"output,omitempty"` // the last output lines of a failed step
	Stack     string            `json:"stack,omitempty"`  // where a step type panicked
	// Params are a started step's parameters as `plan` shows them (values where vars decide
	// them, else the template), masked, for reports.
	Params any `json:"params,omitempty"`
	// Outputs are a finished step's outputs, masked, for `jq` and for reports.
	Outputs any `json:"outputs,omitempty"`
	// Diagnostics are why a run could not start (run-finished): each with file, line, column.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
}

// Reporter shows events. Handle is never called concurrently.
type Reporter interface {
	Handle(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

func (f ReporterFunc) Handle(e Event) { f(e) }

// emitter serialises events from parallel loop items into the reporters, masking each.
type emitter struct {
	mu        sync.Mutex
	reporters []Reporter
	mask      *Masker
}

func (em *emitter) emit(e Event) { em.emitThen(e, nil) }

// emitThen emits e and runs also (when not nil) in the same turn, so that what also records
// is in the order the reporters see.
func (em *emitter) emitThen(e Event, also func()) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e = em.mask.Event(e)
	em.mu.Lock()
	defer em.mu.Unlock()
	if also != nil {
		also()
	}
	for _, r := range em.reporters {
		r.Handle(e)
	}
}
