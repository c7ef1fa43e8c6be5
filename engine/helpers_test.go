package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	_ "github.com/kindlab/playbook/steps"
)

// probe is a step type for runner tests: it sleeps, fails on demand, counts its attempts and
// records when it ran.
type probeParams struct {
	Key      string          `yaml:"key"`
	Sleep    engine.Duration `yaml:"sleep"`
	FailFor  int             `yaml:"failFor"` // fail this many attempts first
	Value    any             `yaml:"value"`
	Ignoring bool            `yaml:"ignoreCancel"`
}

var (
	probeMu       sync.Mutex
	probeAttempts = map[string]int{}
	probeSpans    = map[string][2]time.Time{}
	probeRunning  atomic.Int32
	probeMaxPar   atomic.Int32
)

func init() {
	engine.Register(engine.StepType[probeParams]{
		Name:    "probe",
		Summary: "test step",
		Outputs: []engine.OutputDoc{{Name: "value"}, {Name: "attempt"}},
		Run: func(ctx context.Context, rt *engine.Runtime, p *probeParams) (map[string]any, error) {
			n := probeRunning.Add(1)
			defer probeRunning.Add(-1)
			for {
				m := probeMaxPar.Load()
				if n <= m || probeMaxPar.CompareAndSwap(m, n) {
					break
				}
			}
			probeMu.Lock()
			probeAttempts[p.Key]++
			attempt := probeAttempts[p.Key]
			probeMu.Unlock()
			start := time.Now()
			rt.Logf("probe %s attempt %d", p.Key, attempt)
			select {
			case <-time.After(p.Sleep.Duration):
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			probeMu.Lock()
			probeSpans[p.Key] = [2]time.Time{start, time.Now()}
			probeMu.Unlock()
			out := map[string]any{"value": p.Value, "attempt": attempt}
			if attempt <= p.FailFor {
				return out, errors.New("probe failure " + p.Key)
			}
			return out, nil
		},
	})
}

func resetProbes() {
	probeMu.Lock()
	defer probeMu.Unlock()
	probeAttempts = map[string]int{}
	probeSpans = map[string][2]time.Time{}
	probeMaxPar.Store(0)
}

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

func load(t testing.TB, body string, opts ...engine.LoadOptions) (*engine.Playbook, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"pb.yaml": body})
	var o engine.LoadOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return engine.Load(filepath.Join(dir, "pb.yaml"), o)
}

func mustLoad(t testing.TB, body string, opts ...engine.LoadOptions) *engine.Playbook {
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

func run(t testing.TB, pb *engine.Playbook, opts engine.RunOptions) (*collect, *engine.Result, error) {
	t.Helper()
	c := &collect{}
	opts.Reporters = append(opts.Reporters, c)
	res, err := pb.Run(context.Background(), opts)
	return c, res, err
}

func firstLine(err error) string { return strings.SplitN(err.Error(), "\n", 2)[0] }
