package steps

import (
	"context"
	"fmt"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

type getParams struct {
	kube.Target `yaml:",inline"`
	Kind        string `yaml:"kind" doc:"kind as kubectl takes it: DaemonSet, daemonsets, ds, deployment.apps" pb:"required"`
	APIVersion  string `yaml:"apiVersion" doc:"exact apiVersion when a kind name is ambiguous"`
	Name        string `yaml:"name" doc:"one object; without it, every object (matching selector)"`
	Namespace   string `yaml:"namespace" doc:"namespace of namespaced kinds (default: the kubeconfig context's, else default)"`
	Selector    string `yaml:"selector" doc:"label selector"`
	MustExist   bool   `yaml:"mustExist" doc:"fail when the named object does not exist (default: found is false)"`
}

func init() {
	engine.Register(engine.StepType[getParams]{
		Name:    "kubectlGet",
		Summary: "read Kubernetes objects into outputs as plain maps, for assert and later steps",
		Example: `- name: read the nodes
  id: nodes
  kubectlGet: {kind: Node}`,
		Outputs: []engine.OutputDoc{
			{Name: "object", Type: "map", Doc: "the named object (nil when not found)"},
			{Name: "items", Type: "list", Doc: "the objects listed (the named one alone, when name is set)"},
			{Name: "found", Type: "bool", Doc: "whether anything was found"},
		},
		Validate: func(p *getParams) error {
			if p.Name != "" && p.Selector != "" {
				return engine.Errorf("selector", "give name or selector, not both")
			}
			return nil
		},
		Run: runGet,
	})
}

func runGet(ctx context.Context, rt *engine.Runtime, p *getParams) (map[string]any, error) {
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return nil, err
	}
	m, err := c.MappingFor(p.Kind, p.APIVersion)
	if err != nil {
		return nil, err
	}
	var r dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
	ns := ""
	if kube.Namespaced(m) {
		ns = c.Namespace(p.Namespace)
		r = c.Dynamic.Resource(m.Resource).Namespace(ns)
	}
	if p.Name != "" {
		obj, err := r.Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if p.MustExist {
				return nil, fmt.Errorf("%s %s not found%s", m.GroupVersionKind.Kind, p.Name, inNamespace(ns))
			}
			rt.Logf("%s %s not found%s", m.GroupVersionKind.Kind, p.Name, inNamespace(ns))
			return map[string]any{"object": nil, "items": []any{}, "found": false}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"object": obj.Object, "items": []any{obj.Object}, "found": true}, nil
	}
	list, err := r.List(ctx, metav1.ListOptions{LabelSelector: p.Selector})
	if err != nil {
		return nil, err
	}
	items := make([]any, len(list.Items))
	for i := range list.Items {
		items[i] = list.Items[i].Object
	}
	rt.Logf("%d %s%s", len(items), m.Resource.Resource, inNamespace(ns))
	return map[string]any{"object": nil, "items": items, "found": len(items) > 0}, nil
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}
