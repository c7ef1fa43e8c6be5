package engine

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Runtime is what a running step gets from the engine: where its files are, and where its
// output goes (the live view, JSON events, and the tail shown when it fails).
type Runtime struct {
	dir    string
	prefix string
	base   Event
	em     *emitter
	tail   *tailBuffer
	env    *Env
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

// Logf reports one line of the step's own narration.
func (rt *Runtime) Logf(format string, args ...any) {
	for _, l := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		rt.line("log", l)
	}
}

// Output returns a writer that reports each line written to it. Close it to flush a last
// line without a newline.
func (rt *Runtime) Output(stream string) io.WriteCloser {
	return &lineWriter{rt: rt, stream: stream}
}

func (rt *Runtime) line(stream, text string) {
	e := rt.base
	e.Type, e.Stream, e.Line, e.Prefix = StepOutput, stream, text, rt.prefix
	label := text
	if rt.prefix != "" {
		label = rt.prefix + " | " + text
	}
	rt.tail.add(label)
	rt.em.emit(e)
}

type lineWriter struct {
	rt     *Runtime
	stream string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.rt.line(w.stream, string(bytes.TrimSuffix(w.buf[:i], []byte("\r"))))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) Close() error {
	if len(w.buf) > 0 {
		w.rt.line(w.stream, string(w.buf))
		w.buf = nil
	}
	return nil
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
