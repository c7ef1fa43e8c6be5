package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/kindlab/playbook/engine"
)

type kindDeleteParams struct {
	Name       string `yaml:"name" doc:"cluster name" pb:"required"`
	Kubeconfig string `yaml:"kubeconfig" doc:"kubeconfig file to remove the cluster from (default: the one kindCreate wrote)"`
}

func init() {
	engine.Register(engine.StepType[kindDeleteParams]{
		Name:    "kindDelete",
		Summary: "delete a kind cluster (a cluster that does not exist is not an error)",
		Example: `- name: delete the cluster
  kindDelete: {name: lab}`,
		Outputs: []engine.OutputDoc{{Name: "deleted", Type: "bool", Doc: "whether a cluster was there to delete"}},
		Run: func(ctx context.Context, rt *engine.Runtime, p *kindDeleteParams) (map[string]any, error) {
			kubeconfig := p.Kubeconfig
			if kubeconfig == "" {
				kubeconfig = defaultKindKubeconfig(p.Name)
			} else if !filepath.IsAbs(kubeconfig) {
				kubeconfig = filepath.Join(rt.Dir(), kubeconfig)
			}
			// After a create of this process has stopped (kindOps), never beside it.
			kindOps.Lock()
			defer kindOps.Unlock()
			provider := kindProvider(rt)
			existing, err := provider.List()
			if err != nil {
				return nil, err
			}
			// kind's Delete removes node containers by label, so it also cleans up a create
			// that failed or was interrupted half way.
			if err := provider.Delete(p.Name, kubeconfig); err != nil {
				return nil, err
			}
			os.Remove(kindConfigRecord(p.Name))
			if kubeconfig == defaultKindKubeconfig(p.Name) {
				os.Remove(kubeconfig)
			}
			deleted := slices.Contains(existing, p.Name)
			if deleted {
				rt.Logf("deleted kind cluster %s", p.Name)
			}
			return map[string]any{"deleted": deleted}, nil
		},
	})
}
