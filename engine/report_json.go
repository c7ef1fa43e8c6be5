package engine

import (
	"encoding/json"
	"io"
)

// JSONReporter writes one JSON object per event, for machines.
type JSONReporter struct{ enc *json.Encoder }

func NewJSONReporter(w io.Writer) *JSONReporter { return &JSONReporter{enc: json.NewEncoder(w)} }

func (r *JSONReporter) Handle(e Event) { _ = r.enc.Encode(e) }
