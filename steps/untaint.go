package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

type untaintParams struct {
	kube.Target `yaml:",inline"`
	Keys        []string `yaml:"keys" doc:"taint keys to remove; a key a node does not carry is not an error" pb:"required"`
	Effect      string   `yaml:"effect" doc:"remove only taints with this effect (NoSchedule, PreferNoSchedule, NoExecute); default: any"`
	Nodes       []string `yaml:"nodes" doc:"node names; default: every node (or those matching selector)"`
	Selector    string   `yaml:"selector" doc:"label selector for nodes, e.g. node-role.kubernetes.io/control-plane"`
}

var taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

func init() {
	engine.Register(engine.StepType[untaintParams]{
		Name:    "untaint",
		Summary: "remove taints from nodes by key (both control-plane keys work on every Kubernetes version)",
		Example: `- name: schedule pods on the control plane too
  untaint: {keys: [node-role.kubernetes.io/control-plane]}`,
		Outputs: []engine.OutputDoc{
			{Name: "changed", Type: "list", Doc: "each node that changed: node, removed (taints as key:Effect)"},
			{Name: "removed", Type: "int", Doc: "how many taints were removed in all"},
		},
		Validate: func(p *untaintParams) error {
			if len(p.Keys) == 0 {
				return engine.Errorf("keys", "give at least one taint key")
			}
			if p.Effect != "" && !slices.Contains(taintEffects, p.Effect) {
				return engine.Errorf("effect", "must be one of %s, got %q%s", strings.Join(taintEffects, ", "), p.Effect, didYouMean(p.Effect, taintEffects))
			}
			if len(p.Nodes) > 0 && p.Selector != "" {
				return engine.Errorf("selector", "give nodes or selector, not both")
			}
			return nil
		},
		Run: runUntaint,
	})
}

func runUntaint(ctx context.Context, rt *engine.Runtime, p *untaintParams) (map[string]any, error) {
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return nil, err
	}
	nodes := c.Clientset.CoreV1().Nodes()
	names := p.Nodes
	if len(names) == 0 {
		list, err := nodes.List(ctx, metav1.ListOptions{LabelSelector: p.Selector})
		if err != nil {
			return nil, err
		}
		for _, n := range list.Items {
			names = append(names, n.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no nodes%s", selectorSuffix(p.Selector))
		}
	}
	changed := []any{}
	total := 0
	for _, name := range names {
		var removed []string
		// Re-read on conflict: kubelet and the node lifecycle controller update nodes too.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			node, err := nodes.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			var kept []corev1.Taint
			removed = nil
			for _, t := range node.Spec.Taints {
				if slices.Contains(p.Keys, t.Key) && (p.Effect == "" || string(t.Effect) == p.Effect) {
					removed = append(removed, t.Key+":"+string(t.Effect))
					continue
				}
				kept = append(kept, t)
			}
			if len(removed) == 0 {
				return nil
			}
			node.Spec.Taints = kept
			_, err = nodes.Update(ctx, node, metav1.UpdateOptions{FieldManager: fieldManager})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
		if len(removed) > 0 {
			rt.Logf("node/%s untainted: %s", name, strings.Join(removed, ", "))
			changed = append(changed, map[string]any{"node": name, "removed": toAnyList(removed)})
			total += len(removed)
		}
	}
	if total == 0 {
		rt.Logf("no node carried %s", strings.Join(p.Keys, " or "))
	}
	return map[string]any{"changed": changed, "removed": total}, nil
}

func selectorSuffix(selector string) string {
	if selector == "" {
		return ""
	}
	return " match " + selector
}
