package engine

import (
	"errors"
	"fmt"
	"strings"
)

// Diagnostic is one problem in a playbook, pinned to the place that caused it so that an
// editor or a person can jump straight there.
type Diagnostic struct {
	File       string
	Line, Col  int
	Msg        string
	Suggestion string // a did-you-mean candidate; empty when nothing is close
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

// IsInvalidInput reports whether err means the playbook or the command line is wrong, which
// the CLI turns into exit code 2 without running anything.
func IsInvalidInput(err error) bool {
	var ds Diagnostics
	var d Diagnostic
	var u *UsageError
	return errors.As(err, &ds) || errors.As(err, &d) || errors.As(err, &u)
}

// UsageError is a bad flag value or argument (not tied to a file position).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }
