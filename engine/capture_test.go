package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// A step's output is bounded: its outputs keep the head and the tail of a stream and say how
// much was dropped; a line shown live is cut.
func TestCaptureBoundsOutput(t *testing.T) {
	total := engine.OutputHeadBytes + engine.OutputTailBytes + 3<<20
	pb := mustLoad(t, header+fmt.Sprintf("steps:\n  - name: big\n    id: big\n    chunked: {bytes: %d, chunk: 65536}\n  - name: size\n    say: {message: \"${{ len(steps.big.outputs.stdout) }}\"}\n", total))
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.finished("big")
	out := e.Outputs.(map[string]any)["stdout"].(string)
	if !strings.Contains(out, fmt.Sprintf("[... %d bytes of output dropped", 3<<20)) {
		t.Errorf("the outputs do not say how much was dropped: %q", out[engine.OutputHeadBytes:engine.OutputHeadBytes+200])
	}
	if len(out) > engine.OutputHeadBytes+engine.OutputTailBytes+200 {
		t.Errorf("outputs kept %d bytes", len(out))
	}
	lines := c.lines()
	if len(lines) != 2 || !strings.HasSuffix(lines[0], fmt.Sprintf("… [line cut at %d bytes]", engine.MaxLineBytes)) {
		t.Errorf("live lines: %d, first ends %q", len(lines), lines[0][max(0, len(lines[0])-60):])
	}
}

// Lines split across writes come out whole, and many short lines each come out.
func TestCaptureSplitsLines(t *testing.T) {
	text := strings.Repeat("line\n", 1000) + "last without newline"
	pb := mustLoad(t, header+"steps:\n  - name: w\n    chunked: {text: "+yamlQuote(text)+", chunk: 7}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := c.lines()
	if len(lines) != 1001 || lines[0] != "line" || lines[1000] != "last without newline" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

// BenchmarkCaptureLines reports the cost per line of a 10-line and a 10,000-line output: the
// splitter continues where it stopped, so the two cost the same per line.
func BenchmarkCaptureLines(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			text := strings.Repeat("some output of a command, as long as a log line usually is\n", n)
			pb := mustLoad(b, header+"steps:\n  - name: w\n    chunked: {text: "+yamlQuote(text)+", chunk: 4096}\n")
			b.ResetTimer()
			for b.Loop() {
				if _, err := pb.Run(b.Context(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(engine.Event) {})}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
		})
	}
}
