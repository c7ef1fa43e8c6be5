package engine

import (
	"errors"
	"fmt"

	"github.com/kindlab/playbook/model"
)

// Diagnostic and Diagnostics are the model's: one problem pinned to its place in a file.
type (
	Diagnostic  = model.Diagnostic
	Diagnostics = model.Diagnostics
)

// IsInvalidInput reports whether err means the playbook or the command line is wrong, which
// the CLI turns into exit code 2 without running anything.
func IsInvalidInput(err error) bool {
	var u *UsageError
	_, isDiag := model.AsDiagnostics(err)
	return isDiag || errors.As(err, &u)
}

// UsageError is a bad flag value or argument (not tied to a file position).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Suggest returns the closest candidate to word, or "" when none is a plausible typo.
func Suggest(word string, candidates []string) string { return model.Suggest(word, candidates) }
