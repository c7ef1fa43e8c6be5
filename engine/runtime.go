package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Runtime is what a running step gets from the engine: where its files are, where its output
// goes (the live view, JSON events, the tail shown when it fails), and what belongs to the run
// rather than to the process: clients, and what must be cleaned up when the run ends.
type Runtime struct {
	dir    string
	prefix string
	base   Event
	em     *emitter
	tail   *tailBuffer
	env    *Env
	run    *runShared
}

// runShared is what every step of one run shares.
type runShared struct {
	mu       sync.Mutex
	values   map[any]*sharedValue
	cleanups []func(context.Context)
}

type sharedValue struct {
	once sync.Once
	v    any
	err  error
}

func newRunShared() *runShared { return &runShared{values: map[any]*sharedValue{}} }

// Shared returns the value kept under key for this run, creating it on first use. Clients
// (Kubernetes, Docker) live here, as kind's ActionContext caches per create: a recreated
// cluster has a new endpoint and CA, so nothing may outlive the run that made it.
func (rt *Runtime) Shared(key any, create func() (any, error)) (any, error) {
	rt.run.mu.Lock()
	sv, ok := rt.run.values[key]
	if !ok {
		sv = &sharedValue{}
		rt.run.values[key] = sv
	}
	rt.run.mu.Unlock()
	sv.once.Do(func() { sv.v, sv.err = create() })
	return sv.v, sv.err
}

// OnRunEnd registers fn to run when the run ends: after the finally steps, on success, failure
// or Ctrl-C. It gets a context of its own, which a second Ctrl-C cancels.
func (rt *Runtime) OnRunEnd(fn func(context.Context)) {
	rt.run.mu.Lock()
	defer rt.run.mu.Unlock()
	rt.run.cleanups = append(rt.run.cleanups, fn)
}

func (s *runShared) end(ctx context.Context) {
	s.mu.Lock()
	cleanups := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i](ctx)
	}
}

// ObservedStream is the stream of an output line that says what a step observed, in a word
// or a number, for reports that compare runs (the comparison table shows it).
const ObservedStream = "observed"

// Observe reports what the step observed (an agent's masquerading mode, a packet count), as
// one line: a table cell, whatever the value held (masked first, then flattened, so that a
// secret spanning lines is still found).
func (rt *Runtime) Observe(text string) {
	rt.line(ObservedStream, strings.Join(strings.Fields(rt.masker().String(text)), " "))
}

// Eval evaluates a bare expression parameter (assert's `that`) where the step stands.
func (rt *Runtime) Eval(e *Expr) (any, error) { return e.Eval(rt.env) }

// EvalObject evaluates e with `object` set, for parameters that examine an object.
func (rt *Runtime) EvalObject(e *Expr, object any) (any, error) {
	env := *rt.env
	env.Object = object
	return e.Eval(&env)
}

// Explain lists the value of every name in e, for a failure message that shows why an
// expression was false without the user re-running anything.
func (rt *Runtime) Explain(e *Expr) []string { return e.explain(rt.env) }

// Dir is the directory of the playbook file, against which relative paths resolve.
func (rt *Runtime) Dir() string { return rt.dir }

// WithPrefix returns a Runtime whose output lines are labelled, e.g. with a container name.
func (rt *Runtime) WithPrefix(prefix string) *Runtime {
	c := *rt
	c.prefix = prefix
	return &c
}

// Logf reports the step's own narration, a line at a time, masked as a whole first so that a
// secret spanning lines is found.
func (rt *Runtime) Logf(format string, args ...any) {
	text := rt.masker().String(fmt.Sprintf(format, args...))
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		rt.line("log", l)
	}
}

func (rt *Runtime) masker() *Masker {
	if rt.em == nil {
		return nil
	}
	return rt.em.mask
}

func (rt *Runtime) line(stream, text string) {
	e := rt.base
	e.Type, e.Stream, e.Line, e.Prefix = StepOutput, stream, text, rt.prefix
	label := text
	if rt.prefix != "" {
		label = rt.prefix + " | " + text
	}
	if e.Item != "" {
		label = "[" + e.Item + "] " + label
	}
	// The failure report's tail takes the lines in the order the reports show them: stdout
	// and stderr arrive from two goroutines, and the emitter decides one order for both.
	var keep func()
	if rt.tail != nil {
		keep = func() { rt.tail.add(rt.masker().String(label)) }
	}
	if rt.em != nil {
		rt.em.emitThen(e, keep)
	} else if keep != nil {
		keep()
	}
}

// tailBuffer keeps the last lines of a step's output for its failure report.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, line)
}

func (t *tailBuffer) snapshot() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}
