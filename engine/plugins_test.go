package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kindlab/playbook/engine"
)

// Step types for the engine's own tests, so that `go test ./engine` builds none of the real
// step plugins (and none of client-go, Helm, kind or moby).

// probe sleeps, fails on demand, counts its attempts and records when it ran.
type probeParams struct {
	Key     string          `yaml:"key"`
	Sleep   engine.Duration `yaml:"sleep"`
	FailFor int             `yaml:"failFor"` // fail this many attempts first
	Value   any             `yaml:"value"`
}

var (
	probeMu       sync.Mutex
	probeAttempts = map[string]int{}
	probeSpans    = map[string][2]time.Time{}
	probeRunning  atomic.Int32
	probeMaxPar   atomic.Int32
	probeActive   = map[string]bool{} // items running now, to prove cancellation
)

// echoParams is a command without a process: it prints, exits with a code, and can append
// to a file to count its runs.
type echoParams struct {
	Stdout   string `yaml:"stdout"`
	Stderr   string `yaml:"stderr"`
	ExitCode int    `yaml:"exitCode"`
	Count    string `yaml:"count" doc:"a file to append a line to on every run"`
	Prefix   string `yaml:"prefix" doc:"label its lines, as dockerExec does with container names"`
	Reads    string `yaml:"reads" doc:"a file or glob it says it reads, for resume"`
}

type sayParams struct {
	Message string `yaml:"message" pb:"required"`
}

type checkParams struct {
	That []*engine.Expr `yaml:"that" pb:"required,bool"`
}

type shellParams struct {
	Script engine.Script `yaml:"script"`
}

type typedParams struct {
	Words  []string `yaml:"words"`
	Number int      `yaml:"number"`
}

type chunkedParams struct {
	Text  string `yaml:"text"`
	Chunk int    `yaml:"chunk"`
	Bytes int    `yaml:"bytes" doc:"write this many bytes of x without a newline instead"`
}

type liarParams struct {
	Keys []string `yaml:"keys"`
}

type panicParams struct {
	Message string `yaml:"message"`
}

func init() {
	engine.Register(engine.StepType[probeParams]{
		Name:    "probe",
		Summary: "test step",
		Outputs: []engine.OutputDoc{{Name: "value"}, {Name: "attempt"}},
		Run:     runProbe,
	})
	engine.Register(engine.StepType[echoParams]{
		Name:    "echo",
		Summary: "print and exit with a code, without a process",
		Files: func(p *echoParams) []string {
			if p.Reads == "" {
				return nil
			}
			return []string{p.Reads}
		},
		Outputs: []engine.OutputDoc{{Name: "stdout"}, {Name: "stderr"}, {Name: "exitCode"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *echoParams) (map[string]any, error) {
			if p.Count != "" {
				f, err := os.OpenFile(p.Count, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return nil, err
				}
				fmt.Fprintln(f, "run")
				f.Close()
			}
			if p.Prefix != "" {
				rt = rt.WithPrefix(p.Prefix)
			}
			stdout, stderr := rt.Capture("stdout"), rt.Capture("stderr")
			stdout.Write([]byte(p.Stdout))
			stderr.Write([]byte(p.Stderr))
			stdout.Close()
			stderr.Close()
			out := map[string]any{"stdout": stdout.String(), "stderr": stderr.String(), "exitCode": p.ExitCode}
			if p.ExitCode != 0 {
				last := strings.TrimSpace(p.Stderr)
				last = last[strings.LastIndexByte(last, '\n')+1:]
				return out, fmt.Errorf("exited with code %d: %s", p.ExitCode, last)
			}
			return out, nil
		},
	})
	engine.Register(engine.StepType[sayParams]{
		Name:    "say",
		Summary: "print a message",
		Outputs: []engine.OutputDoc{{Name: "message"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *sayParams) (map[string]any, error) {
			rt.Logf("%s", p.Message)
			return map[string]any{"message": p.Message}, nil
		},
	})
	engine.Register(engine.StepType[checkParams]{
		Name:    "check",
		Summary: "expressions that must hold",
		Outputs: []engine.OutputDoc{{Name: "checked"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *checkParams) (map[string]any, error) {
			for _, e := range p.That {
				v, err := rt.Eval(e)
				if err != nil {
					return nil, err
				}
				if v != true {
					return nil, fmt.Errorf("false: %s where %s", e.Source, strings.Join(rt.Explain(e), ", "))
				}
			}
			return map[string]any{"checked": len(p.That)}, nil
		},
	})
	engine.Register(engine.StepType[shellParams]{
		Name:    "shell",
		Summary: "a script, rendered only: its output is the script as the shell would get it",
		Outputs: []engine.OutputDoc{{Name: "script"}, {Name: "env"}},
		Validate: func(p *shellParams) error {
			if p.Script.Text == "" {
				return engine.Errorf("script", "write a script")
			}
			return nil
		},
		Run: func(_ context.Context, rt *engine.Runtime, p *shellParams) (map[string]any, error) {
			return map[string]any{"script": p.Script.Text, "env": p.Script.Env}, nil
		},
	})
	engine.Register(engine.StepType[typedParams]{
		Name:    "typed",
		Summary: "typed parameters, printed",
		Outputs: []engine.OutputDoc{{Name: "words"}, {Name: "number"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *typedParams) (map[string]any, error) {
			rt.Logf("%v %d", p.Words, p.Number)
			return map[string]any{"words": p.Words, "number": p.Number}, nil
		},
	})
	engine.Register(engine.StepType[chunkedParams]{
		Name:    "chunked",
		Summary: "writes its text to stdout in chunks of the given size",
		Outputs: []engine.OutputDoc{{Name: "stdout"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *chunkedParams) (map[string]any, error) {
			out := rt.Capture("stdout")
			text := []byte(p.Text)
			if p.Bytes > 0 {
				text = bytes.Repeat([]byte("x"), p.Bytes)
			}
			chunk := max(p.Chunk, 1)
			for len(text) > 0 {
				n := min(chunk, len(text))
				out.Write(text[:n])
				text = text[n:]
			}
			out.Close()
			return map[string]any{"stdout": out.String()}, nil
		},
	})
	engine.Register(engine.StepType[liarParams]{
		Name:    "liar",
		Summary: "returns the outputs it is told to, whatever it documents",
		Outputs: []engine.OutputDoc{{Name: "count"}, {Name: "names"}},
		Run: func(_ context.Context, _ *engine.Runtime, p *liarParams) (map[string]any, error) {
			out := map[string]any{}
			for _, k := range p.Keys {
				out[k] = true
			}
			return out, nil
		},
	})
	engine.Register(engine.StepType[panicParams]{
		Name:    "boom",
		Summary: "a step type with a bug",
		Run: func(context.Context, *engine.Runtime, *panicParams) (map[string]any, error) {
			var m map[string]int
			if len(m) == 0 {
				panic(errors.New("boom: assignment to entry in nil map"))
			}
			return nil, nil
		},
	})
}

func runProbe(ctx context.Context, rt *engine.Runtime, p *probeParams) (map[string]any, error) {
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
	probeActive[p.Key] = true
	probeMu.Unlock()
	defer func() {
		probeMu.Lock()
		delete(probeActive, p.Key)
		probeMu.Unlock()
	}()
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
}

func itoa(n int) string { return strconv.Itoa(n) }

func resetProbes() {
	probeMu.Lock()
	defer probeMu.Unlock()
	probeAttempts = map[string]int{}
	probeSpans = map[string][2]time.Time{}
	probeActive = map[string]bool{}
	probeMaxPar.Store(0)
}
