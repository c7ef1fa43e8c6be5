// Package docker is the Docker plumbing the step plugins share: the run's client and the
// container selection rules of dockerExec and dockerCp. It is not a step.
package docker

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/fanout"
	"github.com/moby/moby/client"
)

// Labels kind puts on its node containers.
const (
	KindClusterLabel = "io.x-k8s.kind.cluster"
	KindRoleLabel    = "io.x-k8s.kind.role"
)

// clientKey names the run's Docker client by the daemon it talks to.
type clientKey struct{ host string }

// Client returns the run's Docker client (DOCKER_HOST or the default socket; the API version
// is negotiated with the daemon on first use), kept on the runtime: nothing outlives the run.
func Client(rt *engine.Runtime) (*client.Client, error) {
	v, err := rt.Shared(clientKey{os.Getenv("DOCKER_HOST")}, func() (any, error) {
		cli, err := client.New(client.FromEnv)
		if err != nil {
			return nil, err
		}
		rt.OnRunEnd(func(context.Context) { cli.Close() })
		return cli, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*client.Client), nil
}

// Selection says which containers a step acts on; exactly one way must be used.
type Selection struct {
	Containers  []string `yaml:"containers" doc:"container names or ids"`
	Selector    string   `yaml:"selector" doc:"label selector: key=value or key, comma-separated, all must match"`
	KindCluster string   `yaml:"kindCluster" doc:"every node container of this kind cluster"`
	Role        string   `yaml:"role" doc:"with kindCluster: only nodes of this role (control-plane or worker)"`
}

// Check reports a selection that names no containers or names them twice over; field is the
// parameter to blame.
func (s Selection) Check() (field, msg string) {
	ways := 0
	for _, used := range []bool{len(s.Containers) > 0, s.Selector != "", s.KindCluster != ""} {
		if used {
			ways++
		}
	}
	switch {
	case ways != 1:
		return "containers", "give exactly one of containers, selector or kindCluster"
	case s.Role != "" && s.KindCluster == "":
		return "role", "role goes with kindCluster"
	case s.Role != "" && s.Role != "control-plane" && s.Role != "worker":
		return "role", fmt.Sprintf("must be control-plane or worker, got %q", s.Role)
	}
	return "", ""
}

// Container is one selected container.
type Container struct {
	ID   string
	Name string
}

// Resolve connects to the daemon and resolves the selection: what every container step does
// first.
func (s Selection) Resolve(ctx context.Context, rt *engine.Runtime) (*client.Client, []Container, error) {
	cli, err := Client(rt)
	if err != nil {
		return nil, nil, err
	}
	containers, err := Select(ctx, cli, s)
	return cli, containers, err
}

// Select resolves a selection to running containers, sorted by name.
func Select(ctx context.Context, cli *client.Client, s Selection) ([]Container, error) {
	if len(s.Containers) > 0 {
		// In parallel: each inspect is a round trip to the daemon before any work starts.
		out := make([]Container, len(s.Containers))
		err := fanout.Each(ctx, len(s.Containers), 0, func(ctx context.Context, i int) error {
			name := s.Containers[i]
			info, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
			if err != nil {
				return fmt.Errorf("container %s: %w", name, err)
			}
			out[i] = Container{ID: info.Container.ID, Name: strings.TrimPrefix(info.Container.Name, "/")}
			return nil
		})
		return out, err
	}
	filters := client.Filters{}
	what := "containers matching " + s.Selector
	if s.KindCluster != "" {
		filters.Add("label", KindClusterLabel+"="+s.KindCluster)
		what = "nodes of kind cluster " + s.KindCluster
		if s.Role != "" {
			filters.Add("label", KindRoleLabel+"="+s.Role)
			what = s.Role + " " + what
		}
	}
	for _, term := range strings.Split(s.Selector, ",") {
		if term = strings.TrimSpace(term); term != "" {
			filters.Add("label", term)
		}
	}
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: filters})
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, c := range list.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{ID: c.ID, Name: name})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no running %s", what)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
