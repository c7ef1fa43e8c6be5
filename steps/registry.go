package steps

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/kindlab/playbook/internal/kube"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
)

type registryParams struct {
	kube.Target `yaml:",inline"`
	Cluster     string `yaml:"cluster" doc:"a kind cluster whose nodes pull through the registry: containerd's hosts.toml on each node, and (a plain registry) the local-registry-hosting ConfigMap in kube-public, through kubeconfig"`
	Name        string `yaml:"name" doc:"the registry container's name, and its host name on the network (default kind-registry)"`
	Image       string `yaml:"image" doc:"the registry image: the distribution registry, serving on port 5000" pb:"required"`
	Port        int    `yaml:"port" doc:"the port on 127.0.0.1 that this machine pushes to (default 5001)"`
	Network     string `yaml:"network" doc:"the Docker network the nodes are on, which the registry joins (default kind: create the cluster first)"`
	Proxy       string `yaml:"proxy" doc:"a remote registry URL: the registry becomes its pull-through cache (serve it as a registryMirrors endpoint)"`
}

// registryLabel marks the containers this step made, so that a container of another kind
// with the same name is never taken for one.
const registryLabel = "dev.kindlab.playbook.registry"

func init() {
	engine.Register(engine.StepType[registryParams]{
		Name: "registry",
		Summary: "run a local registry next to kind's nodes (reused when it is there, kept across clusters), " +
			"or a pull-through cache of a remote one",
		Example: `- name: a registry for the lab's images
  id: registry
  registry: {image: kindlab/registry:lab, port: 5001}`,
		Outputs: []engine.OutputDoc{
			{Name: "name", Type: "string", Doc: "the container's name: the registry's host name on the network"},
			{Name: "address", Type: "string", Doc: "where this machine pushes: 127.0.0.1:PORT"},
			{Name: "endpoint", Type: "string", Doc: "where the nodes reach it: http://NAME:5000 (for containerd's hosts.toml or registryMirrors)"},
			{Name: "created", Type: "bool", Doc: "whether this step made the container (false: it was there)"},
			{Name: "host", Type: "string", Doc: "the registry host the nodes' images name: the address, or for a cache the remote's host"},
		},
		Validate: func(p *registryParams) error {
			if p.Port < 0 || p.Port > 65535 {
				return engine.Errorf("port", "want a port number, got %d", p.Port)
			}
			if _, err := proxyHost(p.Proxy); err != nil {
				return engine.Errorf("proxy", "%v", err)
			}
			return nil
		},
		Run: runRegistry,
	})
}

func runRegistry(ctx context.Context, rt *engine.Runtime, p *registryParams) (map[string]any, error) {
	name, port, netName := cmp.Or(p.Name, "kind-registry"), cmp.Or(p.Port, 5001), cmp.Or(p.Network, "kind")
	address, endpoint := "127.0.0.1:"+strconv.Itoa(port), "http://"+name+":5000"
	cli, err := docker.Client(rt)
	if err != nil {
		return nil, err
	}
	if _, err := cli.NetworkInspect(ctx, netName, client.NetworkInspectOptions{}); err != nil {
		return nil, fmt.Errorf("the Docker network %q does not exist yet: create the kind cluster first (kindCreate makes it), or name another network", netName)
	}
	created := false
	existing, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	switch {
	case err == nil:
		c := existing.Container
		if c.Config == nil || c.Config.Labels[registryLabel] == "" {
			return nil, fmt.Errorf("a container named %q is there and is not a registry this step made (image %s): remove it, or name the registry otherwise", name, c.Config.Image)
		}
		if c.Config.Labels[registryLabel] != registryKind(p) {
			return nil, fmt.Errorf("the registry %q is there as %s, not as %s: remove it to change what it is", name, c.Config.Labels[registryLabel], registryKind(p))
		}
		if c.State == nil || !c.State.Running {
			if _, err := cli.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
				return nil, fmt.Errorf("starting the registry %q: %w", name, err)
			}
		}
		rt.Logf("registry %s is there (%s)", name, registryKind(p))
	case cerrdefs.IsNotFound(err):
		if err := createRegistry(ctx, cli, name, port, netName, p); err != nil {
			return nil, err
		}
		created = true
		rt.Logf("registry %s started: 127.0.0.1:%d (%s)", name, port, registryKind(p))
	default:
		return nil, err
	}
	if err := joinNetwork(ctx, cli, name, netName); err != nil {
		return nil, err
	}
	if err := waitRegistry(ctx, cli, name, address); err != nil {
		if created {
			_, _ = cli.ContainerRemove(context.WithoutCancel(ctx), name, client.ContainerRemoveOptions{Force: true})
			return nil, fmt.Errorf("the registry %q (removed again): %w", name, err)
		}
		return nil, fmt.Errorf("the registry %q: %w", name, err)
	}
	host := address
	if p.Proxy != "" {
		host, _ = proxyHost(p.Proxy) // checked by Validate
	}
	if p.Cluster != "" {
		if err := wireCluster(ctx, rt, p, host, endpoint); err != nil {
			return nil, err
		}
	}
	return map[string]any{"name": name, "address": address, "endpoint": endpoint, "created": created, "host": host}, nil
}

// wireCluster does what kind's local-registry guide does for a cluster: each node's
// containerd finds images of host at the registry (hosts.toml under config_path, which
// kindCreate sets), and a plain registry is announced in kube-public (KEP-1755) for the tools
// that look for one.
func wireCluster(ctx context.Context, rt *engine.Runtime, p *registryParams, host, endpoint string) error {
	nodeList, err := kindProvider(rt).ListInternalNodes(p.Cluster)
	if err != nil {
		return err
	}
	if len(nodeList) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes (create it before its registry's wiring)", p.Cluster)
	}
	hostsTOML := fmt.Sprintf("[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", endpoint)
	if p.Proxy != "" {
		hostsTOML = fmt.Sprintf("server = %q\n\n", p.Proxy) + hostsTOML
	}
	dir := "/etc/containerd/certs.d/" + host
	for _, n := range nodeList {
		cmd := n.CommandContext(ctx, "sh", "-c", `mkdir -p "$1" && cat > "$1/hosts.toml"`, "sh", dir).SetStdin(strings.NewReader(hostsTOML))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("node %s: writing %s/hosts.toml: %w", n.String(), dir, err)
		}
	}
	rt.Logf("%d nodes of %s pull %s/... from %s", len(nodeList), p.Cluster, host, endpoint)
	if p.Proxy != "" {
		return nil
	}
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return err
	}
	hosting := fmt.Sprintf("host: %q\nhostFromContainerRuntime: %q\nhostFromClusterNetwork: %q\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
		host, host, strings.TrimPrefix(endpoint, "http://"))
	cm := corev1apply.ConfigMap("local-registry-hosting", "kube-public").WithData(map[string]string{"localRegistryHosting.v1": hosting})
	if _, err := c.Clientset.CoreV1().ConfigMaps("kube-public").Apply(ctx, cm, metav1.ApplyOptions{FieldManager: "playbook", Force: true}); err != nil {
		return fmt.Errorf("the local-registry-hosting ConfigMap in kube-public: %w", err)
	}
	return nil
}

// registryReadyTimeout bounds the wait for a registry just started to answer.
const registryReadyTimeout = 30 * time.Second

// waitRegistry returns once the registry answers its API's base endpoint: the step after it
// (a push, a cluster's pulls) must not race its start. A registry that exits (a cache whose
// remote cannot be reached stops at once) fails it with what it said last.
func waitRegistry(ctx context.Context, cli *client.Client, name, address string) error {
	ctx, cancel := context.WithTimeout(ctx, registryReadyTimeout)
	defer cancel()
	var last error
	for {
		if c, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil && c.Container.State != nil &&
			(!c.Container.State.Running || c.Container.State.Restarting) {
			return fmt.Errorf("it exited: %s", lastWords(ctx, cli, name))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+address+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("it does not answer on %s: %w", address, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lastWords is the line of a container's log that says why it stopped: a panic's, or its
// last.
func lastWords(ctx context.Context, cli *client.Client, name string) string {
	logs, err := cli.ContainerLogs(context.WithoutCancel(ctx), name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "40"})
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer logs.Close()
	var out strings.Builder
	_, _ = stdcopy.StdCopy(&out, &out, logs)
	var said string
	for _, line := range strings.Split(out.String(), "\n") {
		switch line = strings.TrimSpace(line); {
		case strings.HasPrefix(line, "panic: "):
			return line
		case line != "" && said == "":
			said = line
		}
	}
	return said
}

// proxyHost is the host of a cache's remote registry URL, which the nodes' images name.
func proxyHost(proxy string) (string, error) {
	if proxy == "" {
		return "", nil
	}
	u, err := url.Parse(proxy)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not a registry URL (https://host)", proxy)
	}
	return u.Host, nil
}

// registryKind is what the label records: a plain registry, or the cache of a remote one.
func registryKind(p *registryParams) string {
	if p.Proxy != "" {
		return "cache of " + p.Proxy
	}
	return "registry"
}

// createRegistry makes and starts the container on the network; if it cannot start, it is
// removed, so that nothing half-made stays behind.
func createRegistry(ctx context.Context, cli *client.Client, name string, port int, netName string, p *registryParams) error {
	// Docker says "port is already allocated" only for its own containers: ask the kernel.
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		return fmt.Errorf("port %d on 127.0.0.1 is in use: give the registry another port", port)
	} else {
		ln.Close()
	}
	env := []string{}
	if p.Proxy != "" {
		env = append(env, "REGISTRY_PROXY_REMOTEURL="+p.Proxy)
	}
	served := network.MustParsePort("5000/tcp")
	made, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Image: p.Image,
		Config: &container.Config{Env: env, Labels: map[string]string{registryLabel: registryKind(p)}, ExposedPorts: network.PortSet{served: {}}},
		// Started on the nodes' network: a cache resolves its remote there as it starts.
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(netName), RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways},
			PortBindings: network.PortMap{served: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port)}}}}})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("the registry image %s is not in the Docker engine: build it (hack/lab/registry-build.sh) or pull it first", p.Image)
		}
		return fmt.Errorf("creating the registry %q: %w", name, err)
	}
	if _, err := cli.ContainerStart(ctx, made.ID, client.ContainerStartOptions{}); err != nil {
		_, _ = cli.ContainerRemove(context.WithoutCancel(ctx), made.ID, client.ContainerRemoveOptions{Force: true})
		return fmt.Errorf("starting the registry %q (removed again): %w", name, err)
	}
	return nil
}

func joinNetwork(ctx context.Context, cli *client.Client, name, netName string) error {
	c, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	if c.Container.NetworkSettings != nil {
		if _, ok := c.Container.NetworkSettings.Networks[netName]; ok {
			return nil
		}
	}
	if _, err := cli.NetworkConnect(ctx, netName, client.NetworkConnectOptions{Container: name}); err != nil {
		return fmt.Errorf("connecting the registry %q to the network %q: %w", name, netName, err)
	}
	return nil
}
