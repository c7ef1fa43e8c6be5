package report

import (
	"github.com/kindlab/playbook/engine"

	"encoding/json"
	"io"
	"sync"
	"time"
)

// JSONReporter writes one JSON object per event, for machines.
type JSONReporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func NewJSONReporter(w io.Writer) *JSONReporter {
	enc := json.NewEncoder(w)
	// A value with & < > stays as it is written; masking already happened on values.
	enc.SetEscapeHTML(false)
	return &JSONReporter{enc: enc}
}

func (r *JSONReporter) Handle(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(e)
}

// Notice writes a notice event (what Ctrl-C does now, a warning before the run).
func (r *JSONReporter) Notice(text string) {
	r.Handle(engine.Event{Time: time.Now(), Type: engine.Notice, Line: text})
}
