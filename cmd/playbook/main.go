// Command playbook runs declarative YAML playbooks; see README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/kindlab/playbook/engine"
	_ "github.com/kindlab/playbook/steps"
	"k8s.io/klog/v2"
)

// Exit codes, as documented in README.md.
const (
	exitOK          = 0
	exitStepFailed  = 1
	exitInvalid     = 2
	exitInterrupted = 130
)

func main() {
	// client-go reports what it cannot return (a stream closed by Ctrl-C, a failed
	// websocket ping) through klog on stderr, straight across the live view. Every failure a
	// step cares about comes back as its error.
	klog.SetLogger(logr.Discard())
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cmd := newRootCommand()
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}
	var reported *alreadyReported
	if !errors.As(err, &reported) {
		fmt.Fprintln(os.Stderr, "playbook: "+err.Error())
	}
	return exitCode(err)
}

func exitCode(err error) int {
	var reported *alreadyReported
	if errors.As(err, &reported) {
		err = reported.err
	}
	var stepErr *engine.StepError
	var bad *invalid
	switch {
	case errors.Is(err, engine.ErrInterrupted):
		return exitInterrupted
	case errors.As(err, &bad):
		return exitInvalid
	case errors.As(err, &stepErr):
		return exitStepFailed // steps ran, even if the one that failed found bad input
	case engine.IsInvalidInput(err), isUsage(err):
		return exitInvalid
	}
	return exitStepFailed
}

// alreadyReported wraps an error that a reporter or the error printer has shown already.
type alreadyReported struct{ err error }

func (e *alreadyReported) Error() string { return e.err.Error() }
func (e *alreadyReported) Unwrap() error { return e.err }

// usageError marks cobra's own argument and flag errors.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}
