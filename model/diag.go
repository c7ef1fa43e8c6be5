package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic stops the playbook from running.
type Severity int

const (
	Error Severity = iota
	Warning
)

// MarshalText spells a severity as a word in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Severity) UnmarshalText(b []byte) error {
	*s = Error
	if string(b) == "warning" {
		*s = Warning
	}
	return nil
}

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem in a playbook, pinned to the place that caused it so that an
// editor or a person can jump straight there.
type Diagnostic struct {
	Severity   Severity `json:"severity"`
	File       string   `json:"file,omitempty"`
	Line       int      `json:"line,omitempty"`
	Col        int      `json:"column,omitempty"`
	Msg        string   `json:"message"`
	Suggestion string   `json:"suggestion,omitempty"` // a did-you-mean; empty when nothing is close
}

func (d Diagnostic) Error() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", d.Line, max(d.Col, 1))
		}
		b.WriteString(": ")
	}
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	if d.Suggestion != "" {
		fmt.Fprintf(&b, "; did you mean %q?", d.Suggestion)
	}
	return b.String()
}

// Diagnostics is every problem found while loading; loading reports them all at once so that
// a user fixes a playbook in one pass instead of one error per run.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// ErrorsSince reports whether any diagnostic from index i on is an error: how a compile stage
// asks whether its own part failed, without going over everything found before it.
func (ds Diagnostics) ErrorsSince(i int) bool {
	for _, d := range ds[i:] {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns the diagnostics that stop a run, or nil when there are only warnings.
func (ds Diagnostics) Errors() Diagnostics { return ds.of(Error) }

// Warnings returns the diagnostics that do not stop a run.
func (ds Diagnostics) Warnings() Diagnostics { return ds.of(Warning) }

func (ds Diagnostics) of(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// AsDiagnostics finds the diagnostics inside err: a Diagnostics, or a single Diagnostic.
func AsDiagnostics(err error) (Diagnostics, bool) {
	var ds Diagnostics
	if errors.As(err, &ds) {
		return ds, true
	}
	var d Diagnostic
	if errors.As(err, &d) {
		return Diagnostics{d}, true
	}
	return nil, false
}

// SortByPosition orders diagnostics as a reader meets them: files in the order their first
// problem was found, then by line and column. Problems at one place keep their order.
func (ds Diagnostics) SortByPosition() {
	fileOrder := map[string]int{}
	for _, d := range ds {
		if _, seen := fileOrder[d.File]; !seen {
			fileOrder[d.File] = len(fileOrder)
		}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return fileOrder[a.File] < fileOrder[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
