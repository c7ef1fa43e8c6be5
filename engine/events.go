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
)

// EventType names what happened.
type EventType string

const (
	RunStarted   EventType = "run-started"
	StepStarted  EventType = "step-started"
	StepOutput   EventType = "output"
	StepRetrying EventType = "retry"
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
	Step     string    `json:"step,omitempty"`
	ID       string    `json:"id,omitempty"`
	StepType string    `json:"stepType,omitempty"`
	Finally  bool      `json:"finally,omitempty"`
	Index    int       `json:"index,omitempty"` // 1-based position among the steps that run
	Total    int       `json:"total,omitempty"`
	Item     string    `json:"item,omitempty"`   // the loop item, when the step loops
	Prefix   string    `json:"prefix,omitempty"` // where an output line came from (a container)
	Stream   string    `json:"stream,omitempty"` // stdout or stderr
	Line     string    `json:"line,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Status   Status    `json:"status,omitempty"`
	Seconds  float64   `json:"seconds,omitempty"`
	Error    string    `json:"error,omitempty"`
	Ignored  bool      `json:"ignored,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Output   []string  `json:"output,omitempty"` // the last output lines of a failed step
}

// Reporter shows events. Handle is never called concurrently.
type Reporter interface {
	Handle(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

func (f ReporterFunc) Handle(e Event) { f(e) }

// emitter serialises events from parallel loop items into the reporters.
type emitter struct {
	mu        sync.Mutex
	reporters []Reporter
	mask      func(string) string
}

func (em *emitter) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if em.mask != nil {
		e.Line, e.Error = em.mask(e.Line), em.mask(e.Error)
		for i := range e.Output {
			e.Output[i] = em.mask(e.Output[i])
		}
	}
	em.mu.Lock()
	defer em.mu.Unlock()
	for _, r := range em.reporters {
		r.Handle(e)
	}
}
