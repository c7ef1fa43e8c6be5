package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kindlab/playbook/engine"
)

type assertParams struct {
	That    []*engine.Expr `yaml:"that" doc:"expressions that must all be true" pb:"required,bool"`
	Message string         `yaml:"message" doc:"what it means when one is false; shown first in the failure"`
	// Said before the check, so that a failed check shows what it saw too.
	Observed string `yaml:"observed" doc:"what the check saw, in a word or a number (the agent's masquerading mode): printed, and shown in the comparison of runs"`
}

func init() {
	engine.Register(engine.StepType[assertParams]{
		Name:    "assert",
		Summary: "check that expressions hold; a failure shows each false one with the values in it",
		Example: `- name: read the nodes
  id: nodes
  kubectlGet: {kind: Node}
- name: three nodes
  assert:
    that:
      - len(steps.nodes.outputs.items) == 3
    message: the cluster has one control-plane and two workers`,
		Outputs: []engine.OutputDoc{{Name: "checked", Type: "int", Doc: "how many expressions were checked"}},
		Validate: func(p *assertParams) error {
			if len(p.That) == 0 {
				return engine.Errorf("that", "give at least one expression")
			}
			return nil
		},
		Run: runAssert,
	})
}

func runAssert(_ context.Context, rt *engine.Runtime, p *assertParams) (map[string]any, error) {
	if p.Observed != "" {
		rt.Observe(p.Observed)
	}
	var failed []string
	for _, e := range p.That {
		v, err := rt.Eval(e)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", e.Source, err))
			continue
		}
		if v == true {
			continue
		}
		report := "false: " + e.Source
		if values := rt.Explain(e); len(values) > 0 {
			report += "\n    where " + strings.Join(values, "\n          ")
		}
		failed = append(failed, report)
	}
	outputs := map[string]any{"checked": len(p.That)}
	if len(failed) == 0 {
		return outputs, nil
	}
	// The error carries every false expression with its values; printing them as output too
	// would show each twice (and twice per attempt under retry).
	msg := strings.Join(failed, "; ")
	if p.Message != "" {
		msg = p.Message + ": " + msg
	}
	return outputs, errors.New(strings.ReplaceAll(msg, "\n    where ", " where "))
}
