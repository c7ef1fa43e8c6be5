package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// writeFiles writes name -> content into a temp dir and returns the dir.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const header = "apiVersion: playbook/v1\nkind: Playbook\nname: t\n"

func load(t testing.TB, body string, opts ...engine.LoadOptions) (*engine.Plan, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"pb.yaml": body})
	var o engine.LoadOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return engine.Load(filepath.Join(dir, "pb.yaml"), o)
}

func mustLoad(t testing.TB, body string, opts ...engine.LoadOptions) *engine.Plan {
	t.Helper()
	pb, err := load(t, body, opts...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return pb
}

// collect is a reporter that keeps every event.
type collect struct {
	mu     sync.Mutex
	events []engine.Event
}

func (c *collect) Handle(e engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *collect) finished(step string) (engine.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e.Type == engine.StepFinished && e.Step == step {
			return e, true
		}
	}
	return engine.Event{}, false
}

func (c *collect) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		if e.Type == engine.StepOutput {
			out = append(out, e.Line)
		}
	}
	return out
}

func run(t testing.TB, pb *engine.Plan, opts engine.RunOptions) (*collect, *engine.Result, error) {
	t.Helper()
	c := &collect{}
	opts.Reporters = append(opts.Reporters, c)
	res, err := pb.Run(context.Background(), opts)
	return c, res, err
}

func firstLine(err error) string { return strings.SplitN(err.Error(), "\n", 2)[0] }

func (c *collect) last() engine.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) == 0 {
		return engine.Event{}
	}
	return c.events[len(c.events)-1]
}
