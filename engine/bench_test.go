package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

func noopPlaybook(n int) string {
	var b strings.Builder
	b.WriteString(header + "vars: {cluster: demo}\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: step %d\n    check: {that: [\"vars.cluster == 'demo'\"]}\n", i)
	}
	return b.String()
}

// BenchmarkEngineOverhead runs a 10,000-step playbook of no-op checks (the test step type
// that stands for assert) and reports the engine's cost per step (load excluded; see
// BenchmarkLoad).
func BenchmarkEngineOverhead(b *testing.B) {
	const steps = 10_000
	pb := mustLoad(b, noopPlaybook(steps))
	b.ResetTimer()
	for b.Loop() {
		if _, err := pb.Run(context.Background(), engine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps), "ns/step")
}

// BenchmarkLoad measures loading and checking the same playbook.
func BenchmarkLoad(b *testing.B) {
	body := noopPlaybook(10_000)
	for b.Loop() {
		mustLoad(b, body)
	}
}

// BenchmarkAssertStep measures a one-step run of a typical compiled assertion.
func BenchmarkAssertStep(b *testing.B) {
	pb := mustLoad(b, header+"vars: {port: 32000}\nsteps:\n  - name: a\n    id: a\n    probe: {key: x, value: {spec: {ports: [{nodePort: 32000}]}}}\n  - name: check\n    check: {that: [\"steps.a.outputs.value.spec.ports[0].nodePort == vars.port\"]}\n")
	pb.Steps = pb.Steps[1:]
	b.ResetTimer()
	for b.Loop() {
		_, _ = pb.Run(context.Background(), engine.RunOptions{})
	}
}
