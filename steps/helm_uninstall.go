package steps

import (
	"context"
	"errors"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/kube"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/storage/driver"
)

type helmUninstallParams struct {
	kube.Target `yaml:",inline"`
	Release     string          `yaml:"release" doc:"release name" pb:"required"`
	Namespace   string          `yaml:"namespace" doc:"release namespace (default: the kubeconfig context's, else default)"`
	Wait        bool            `yaml:"wait" doc:"wait until the release's resources are gone"`
	Timeout     engine.Duration `yaml:"timeout" doc:"default 5m"`
}

func init() {
	engine.Register(engine.StepType[helmUninstallParams]{
		Name:    "helmUninstall",
		Summary: "uninstall a Helm release (one that is not there is not an error)",
		Example: `- name: remove Cilium
  helmUninstall: {release: cilium, namespace: kube-system}`,
		Outputs: []engine.OutputDoc{{Name: "uninstalled", Type: "bool", Doc: "whether a release was there to remove"}},
		Run: func(ctx context.Context, rt *engine.Runtime, p *helmUninstallParams) (map[string]any, error) {
			cfg, err := newHelmConfig(p.Target, kube.NamespaceOf(p.Target, rt.Dir(), p.Namespace), rt.Dir())
			if err != nil {
				return nil, err
			}
			u := action.NewUninstall(cfg)
			u.WaitStrategy, u.Timeout = waitStrategy(p.Wait), p.Timeout.Duration
			if u.Timeout == 0 {
				u.Timeout = 5 * time.Minute
			}
			_, err = u.Run(p.Release)
			if errors.Is(err, driver.ErrReleaseNotFound) {
				rt.Logf("release %s is not installed", p.Release)
				return map[string]any{"uninstalled": false}, nil
			}
			if err != nil {
				return nil, err
			}
			rt.Logf("uninstalled %s", p.Release)
			return map[string]any{"uninstalled": true}, nil
		},
	})
}
