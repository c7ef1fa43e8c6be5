package engine

import "testing"

// BenchmarkExprEval is one evaluation of a typical assertion, compiled once (as at load).
func BenchmarkExprEval(b *testing.B) {
	scope := &Scope{Vars: map[string]bool{"nodePort": true}, Before: 1,
		Steps: &stepRefs{byID: map[string]*StepRef{"svc": {Outputs: []string{"object"}}}}}
	e, err := compileExpr("steps.svc.outputs.object.spec.ports[0].nodePort == vars.nodePort", scope, true)
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{
		Vars: map[string]any{"nodePort": 32000},
		Steps: map[string]any{"svc": &stepResult{Status: "succeeded", Outputs: map[string]any{
			"object": map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"nodePort": int64(32000)}}}}}}},
	}
	for b.Loop() {
		if v, err := e.Eval(env); err != nil || v != true {
			b.Fatal(v, err)
		}
	}
}
