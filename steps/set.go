package steps

import (
	"context"
	"maps"
	"slices"

	"github.com/kindlab/playbook/engine"
)

// setParams names values that later steps read, so that an expression several steps need is
// written and computed once (Ansible's set_fact; vars cannot read steps, they are computed
// before any step runs).
type setParams struct {
	Values map[string]any `yaml:"values" doc:"names and their values; a value may be an expression over vars and earlier steps" pb:"required"`
}

func init() {
	engine.Register(engine.StepType[setParams]{
		Name:    "set",
		Summary: "name values, computed once, for later steps: steps.ID.outputs.values.NAME",
		Example: `- name: name the lab's kubeconfig once
  id: lab
  set:
    values:
      kubeconfig: "${{ env('HOME') }}/.kube/lab.yaml"
      nodes: 3
- name: use it
  log: {message: "export KUBECONFIG=${{ steps.lab.outputs.values.kubeconfig }}"}`,
		Outputs: []engine.OutputDoc{{Name: "values", Type: "map", Doc: "each name with its value"}},
		// The names are the keys written in the playbook, so a read of one it does not set
		// is a load error with a did-you-mean.
		OutputKeys: func(p *setParams) map[string][]string {
			return map[string][]string{"values": slices.Sorted(maps.Keys(p.Values))}
		},
		Validate: func(p *setParams) error {
			if len(p.Values) == 0 {
				return engine.Errorf("values", "give at least one name and its value")
			}
			return nil
		},
		Run: func(_ context.Context, _ *engine.Runtime, p *setParams) (map[string]any, error) {
			return map[string]any{"values": p.Values}, nil
		},
	})
}
