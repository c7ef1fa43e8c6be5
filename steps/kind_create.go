package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/kindlab/playbook/internal/pullhint"
	"github.com/moby/moby/client"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

type kindCreateParams struct {
	kindClusterSpec `yaml:",inline"`
	Recreate        bool   `yaml:"recreate" doc:"delete and create again when the cluster exists (default: reuse it when its config matches, fail when not)"`
	Kubeconfig      string `yaml:"kubeconfig" doc:"where to write the cluster's kubeconfig (default: ~/.local/state/playbook/kind/NAME.kubeconfig)"`
}

func init() {
	engine.Register(engine.StepType[kindCreateParams]{
		Name:    "kindCreate",
		Summary: "create a kind cluster with kind's Go API (no waiting for Ready: that is waitFor's job)",
		Example: `- name: create the cluster
  id: cluster
  kindCreate:
    name: lab
    nodes: [{role: control-plane}, {role: worker, count: 2}]
    networking: {disableDefaultCNI: true, kubeProxyMode: none}`,
		Outputs: []engine.OutputDoc{
			{Name: "kubeconfig", Type: "string", Doc: "path of the cluster's kubeconfig"},
			{Name: "nodes", Type: "list", Doc: "each node: name, role, internalIP, containerID"},
			{Name: "controlPlane", Type: "string", Doc: "name of the (first) control-plane node, e.g. for Cilium's k8sServiceHost"},
			{Name: "kubernetesVersion", Type: "string", Doc: "version of the node image's Kubernetes"},
			{Name: "reused", Type: "bool", Doc: "whether an existing cluster with the same config was kept"},
		},
		Validate: func(p *kindCreateParams) error {
			_, err := kindConfig(&p.kindClusterSpec)
			return err
		},
		Plan: func(_ context.Context, p *kindCreateParams) (any, error) {
			cfg, err := kindConfig(&p.kindClusterSpec)
			if err != nil {
				return nil, err
			}
			rendered, err := renderKindConfig(cfg)
			return map[string]any{"kindConfig": rendered}, err
		},
		// A pull that failed for lack of a network says what to do instead.
		Run: func(ctx context.Context, rt *engine.Runtime, p *kindCreateParams) (map[string]any, error) {
			out, err := runKindCreate(ctx, rt, p)
			return out, pullhint.Explain(err)
		},
	})
}

func runKindCreate(ctx context.Context, rt *engine.Runtime, p *kindCreateParams) (map[string]any, error) {
	cfg, err := kindConfig(&p.kindClusterSpec)
	if err != nil {
		return nil, err
	}
	want, err := renderKindConfig(cfg)
	if err != nil {
		return nil, err
	}
	kubeconfig := p.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = defaultKindKubeconfig(p.Name)
	} else if !filepath.IsAbs(kubeconfig) {
		kubeconfig = filepath.Join(rt.Dir(), kubeconfig)
	}
	if err := os.MkdirAll(kindStateDir(), 0o755); err != nil {
		return nil, err
	}
	kindOps.Lock()
	defer kindOps.Unlock()
	provider := kindProvider(rt)
	existing, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("listing kind clusters: %w", err)
	}
	reused := false
	if slices.Contains(existing, p.Name) {
		if p.Recreate {
			rt.Logf("deleting kind cluster %s (recreate: true)", p.Name)
			if err := provider.Delete(p.Name, kubeconfig); err != nil {
				return nil, err
			}
		} else if err := checkReusable(p.Name, want); err != nil {
			return nil, err
		} else {
			reused = true
			rt.Logf("kind cluster %s exists with the same config: reusing it", p.Name)
			if err := provider.ExportKubeConfig(p.Name, kubeconfig, false); err != nil {
				return nil, err
			}
		}
	}
	if !reused {
		if err := createCluster(ctx, provider, p.Name, cfg, kubeconfig); err != nil {
			return nil, err
		}
		if err := os.WriteFile(kindConfigRecord(p.Name), []byte(want), 0o644); err != nil {
			return nil, err
		}
	}
	outputs, err := kindOutputs(ctx, rt, provider, p.Name)
	if outputs != nil {
		outputs["kubeconfig"], outputs["reused"] = kubeconfig, reused
	}
	return outputs, err
}

// createCluster runs kind's create, which takes no context and runs the docker CLI. When the
// step is cancelled, the docker commands kind is running are stopped, and the step returns
// only once kind's create has: a finally kindDelete then finds every container it made, and
// no create goes on making more behind its back.
func createCluster(ctx context.Context, provider *cluster.Provider, name string, cfg *v1alpha4.Cluster, kubeconfig string) error {
	done := make(chan error, 1)
	go func() {
		done <- provider.Create(name, cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithWaitForReady(0), cluster.CreateWithKubeconfigPath(kubeconfig),
			cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false))
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kind create cluster %s: %w%s", name, err, commandOutput(err))
		}
		return nil
	case <-ctx.Done():
	}
	// Each `docker exec` kind starts from now on is stopped too, until its create gives up.
	for stopped := false; !stopped; {
		stopKindCommands()
		select {
		case <-done:
			stopped = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	return context.Cause(ctx)
}

// checkReusable allows reusing a cluster only when this tool created it from the same config.
func checkReusable(name, want string) error {
	have, err := os.ReadFile(kindConfigRecord(name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("kind cluster %s exists, but playbook did not create it, so its config is unknown; delete it or set recreate: true", name)
	}
	if err != nil {
		return err
	}
	if string(have) != want {
		return fmt.Errorf("kind cluster %s exists with a different config; set recreate: true to replace it. Differences (- existing, + wanted):\n%s", name, lineDiff(string(have), want))
	}
	return nil
}

// lineDiff lists the lines only one side has: enough to see which setting changed.
func lineDiff(a, b string) string {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		inA[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		inB[l] = true
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !inB[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !inA[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func kindOutputs(ctx context.Context, rt *engine.Runtime, provider *cluster.Provider, name string) (map[string]any, error) {
	list, err := provider.ListNodes(name)
	if err != nil {
		return nil, err
	}
	cli, err := docker.Client(rt)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"nodes": []any{}, "controlPlane": "", "kubernetesVersion": ""}
	var controlPlane nodes.Node
	for _, n := range list {
		role, _ := n.Role()
		ip, _, _ := n.IP()
		id := ""
		if info, err := cli.ContainerInspect(ctx, n.String(), client.ContainerInspectOptions{}); err == nil {
			id = info.Container.ID
		}
		out["nodes"] = append(out["nodes"].([]any), map[string]any{"name": n.String(), "role": role, "internalIP": ip, "containerID": id})
		if role == "control-plane" && (controlPlane == nil || n.String() < controlPlane.String()) {
			controlPlane = n
		}
	}
	if controlPlane != nil {
		out["controlPlane"] = controlPlane.String()
		if v, err := nodeutils.KubeVersion(controlPlane); err == nil {
			out["kubernetesVersion"] = v
		}
	}
	return out, nil
}

// commandOutput is the end of what the command kind ran printed ("docker pull" saying why),
// which kind keeps in the error but does not put in its message.
func commandOutput(err error) string {
	// errors.As, not kind's RunErrorForError: that loops forever on a RunError without Inner.
	var runErr *kindexec.RunError
	if !errors.As(err, &runErr) || len(runErr.Output) == 0 {
		return ""
	}
	out := strings.TrimSpace(string(runErr.Output))
	if lines := strings.Split(out, "\n"); len(lines) > 5 {
		out = strings.Join(lines[len(lines)-5:], "\n")
	}
	return ": " + out
}
