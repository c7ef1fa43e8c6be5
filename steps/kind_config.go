package steps

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/kindlab/playbook/engine"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	sigsyaml "sigs.k8s.io/yaml"
)

type kindNodeSpec struct {
	Role              string            `yaml:"role" doc:"control-plane or worker" pb:"required"`
	Count             *int              `yaml:"count" doc:"how many nodes like this (default 1; 0 for none)"`
	Image             string            `yaml:"image" doc:"node image for these nodes (default: the step's image)"`
	Labels            map[string]string `yaml:"labels" doc:"Kubernetes labels of these nodes"`
	ExtraMounts       []kindMount       `yaml:"extraMounts" doc:"host paths mounted into these nodes"`
	ExtraPortMappings []kindPortMapping `yaml:"extraPortMappings" doc:"host ports forwarded to these nodes"`
}

type kindMount struct {
	HostPath      string `yaml:"hostPath" doc:"path on the host (an absolute path is safest: kind reads a relative one from the working directory)" pb:"required"`
	ContainerPath string `yaml:"containerPath" doc:"where it appears in the node" pb:"required"`
	ReadOnly      bool   `yaml:"readOnly" doc:"mount it read-only"`
}

type kindPortMapping struct {
	ContainerPort int    `yaml:"containerPort" doc:"port in the node" pb:"required"`
	HostPort      int    `yaml:"hostPort" doc:"port on the host (default: a random free one)"`
	ListenAddress string `yaml:"listenAddress" doc:"host address to listen on (default 0.0.0.0)"`
	Protocol      string `yaml:"protocol" doc:"TCP, UDP or SCTP"`
}

type kindNetworking struct {
	DisableDefaultCNI bool   `yaml:"disableDefaultCNI" doc:"no kindnet: install a CNI (Cilium) yourself"`
	KubeProxyMode     string `yaml:"kubeProxyMode" doc:"iptables (default), ipvs, nftables or none"`
	PodSubnet         string `yaml:"podSubnet" doc:"CIDR of pod IPs (default 10.244.0.0/16)"`
	ServiceSubnet     string `yaml:"serviceSubnet" doc:"CIDR of Service IPs (default 10.96.0.0/16)"`
	IPFamily          string `yaml:"ipFamily" doc:"ipv4, ipv6 or dual"`
	APIServerAddress  string `yaml:"apiServerAddress" doc:"host address the API server listens on (default 127.0.0.1)"`
	APIServerPort     int    `yaml:"apiServerPort" doc:"host port of the API server (default: a random free one)"`
}

// kindClusterSpec is everything that shapes the cluster; kindCreate adds what to do about it.
type kindClusterSpec struct {
	Name                    string            `yaml:"name" doc:"cluster name" pb:"required"`
	Image                   string            `yaml:"image" doc:"node image, e.g. kindest/node:v1.23.4"`
	Nodes                   []kindNodeSpec    `yaml:"nodes" doc:"nodes by role and count; default one control-plane"`
	Networking              kindNetworking    `yaml:"networking" doc:"the cluster network: CNI, kube-proxy mode, subnets, API server address"`
	RegistryMirrors         map[string]string `yaml:"registryMirrors" doc:"registry host -> mirror endpoint; becomes a containerd config patch"`
	ContainerdConfigPatches []string          `yaml:"containerdConfigPatches" doc:"containerd config patches (TOML)"`
	KubeadmConfigPatches    []string          `yaml:"kubeadmConfigPatches" doc:"kubeadm config patches (YAML), each naming the config it changes by kind (and apiVersion, to change only that version)"`
	ExtraPortMappings       []kindPortMapping `yaml:"extraPortMappings" doc:"host ports forwarded to the first control-plane node"`
	Raw                     map[string]any    `yaml:"raw" doc:"a kind Cluster config document to start from; the fields above are applied over it"`
}

var (
	kindRoles      = []string{"control-plane", "worker"}
	kindProxyModes = []string{"iptables", "ipvs", "nftables", "none"}
	kindFamilies   = []string{"ipv4", "ipv6", "dual"}
)

// kindConfig builds the kind Cluster config the spec describes and checks it, so that a
// mistake shows at load time and `plan` shows exactly what kind will get.
func kindConfig(s *kindClusterSpec) (*v1alpha4.Cluster, error) {
	cfg := &v1alpha4.Cluster{}
	if s.Raw != nil {
		data, err := yaml.Marshal(s.Raw)
		if err != nil {
			return nil, engine.Errorf("raw", "%v", err)
		}
		if err := sigsyaml.UnmarshalStrict(data, cfg); err != nil {
			return nil, engine.Errorf("raw", "not a kind Cluster config: %v", err)
		}
	}
	cfg.Kind, cfg.APIVersion, cfg.Name = "Cluster", "kind.x-k8s.io/v1alpha4", s.Name
	if len(s.Nodes) > 0 {
		cfg.Nodes = nil
	}
	for i, n := range s.Nodes {
		if !slices.Contains(kindRoles, n.Role) {
			return nil, engine.Errorf(fmt.Sprintf("nodes[%d].role", i), "must be control-plane or worker, got %q%s", n.Role, didYouMean(n.Role, kindRoles))
		}
		count := 1
		if n.Count != nil {
			count = *n.Count
		}
		if count < 0 {
			return nil, engine.Errorf(fmt.Sprintf("nodes[%d].count", i), "must not be negative")
		}
		for range count {
			node := v1alpha4.Node{Role: v1alpha4.NodeRole(n.Role), Image: n.Image, Labels: n.Labels}
			for _, m := range n.ExtraMounts {
				node.ExtraMounts = append(node.ExtraMounts, v1alpha4.Mount{HostPath: m.HostPath, ContainerPath: m.ContainerPath, Readonly: m.ReadOnly})
			}
			node.ExtraPortMappings = portMappings(n.ExtraPortMappings)
			cfg.Nodes = append(cfg.Nodes, node)
		}
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}}
	}
	cp := -1
	for i := range cfg.Nodes {
		if cfg.Nodes[i].Image == "" {
			cfg.Nodes[i].Image = s.Image
		}
		if cp < 0 && cfg.Nodes[i].Role == v1alpha4.ControlPlaneRole {
			cp = i
		}
	}
	if cp < 0 {
		return nil, engine.Errorf("nodes", "a cluster needs a control-plane node")
	}
	cfg.Nodes[cp].ExtraPortMappings = append(cfg.Nodes[cp].ExtraPortMappings, portMappings(s.ExtraPortMappings)...)
	if err := applyNetworking(&cfg.Networking, s.Networking); err != nil {
		return nil, err
	}
	cfg.ContainerdConfigPatches = append(cfg.ContainerdConfigPatches, s.ContainerdConfigPatches...)
	for i, patch := range s.KubeadmConfigPatches {
		if err := checkKubeadmPatch(patch); err != nil {
			return nil, engine.Errorf(fmt.Sprintf("kubeadmConfigPatches[%d]", i), "%v", err)
		}
	}
	cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, s.KubeadmConfigPatches...)
	if len(s.RegistryMirrors) > 0 {
		cfg.ContainerdConfigPatches = append(cfg.ContainerdConfigPatches, mirrorPatches(s.RegistryMirrors)...)
	} else {
		// Registries by hosts.toml, as kind's local-registry guide wires them (the registry step
		// writes them). containerd refuses config_path beside mirrors: one or the other.
		cfg.ContainerdConfigPatches = append(cfg.ContainerdConfigPatches, hostsDirPatch)
	}
	return cfg, nil
}

var kubeadmKinds = []string{"ClusterConfiguration", "InitConfiguration", "JoinConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"}

// checkKubeadmPatch refuses what kind would only find when kubeadm runs, minutes later: a
// patch that is no YAML mapping, or one without the kind of config it changes, which kind
// then applies to none of them without a word.
func checkKubeadmPatch(patch string) error {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(patch), &doc); err != nil {
		return fmt.Errorf("not a YAML mapping: %v", err)
	}
	kind, _ := doc["kind"].(string)
	if kind == "" {
		return fmt.Errorf("names no kind: the config it changes, one of %s", strings.Join(kubeadmKinds, ", "))
	}
	if !slices.Contains(kubeadmKinds, kind) {
		return fmt.Errorf("kind must be one of %s, got %q%s", strings.Join(kubeadmKinds, ", "), kind, didYouMean(kind, kubeadmKinds))
	}
	return nil
}

// hostsDirPatch points containerd's CRI registry at per-host hosts.toml files.
const hostsDirPatch = "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\""

func portMappings(in []kindPortMapping) []v1alpha4.PortMapping {
	var out []v1alpha4.PortMapping
	for _, p := range in {
		out = append(out, v1alpha4.PortMapping{ContainerPort: int32(p.ContainerPort), HostPort: int32(p.HostPort),
			ListenAddress: p.ListenAddress, Protocol: v1alpha4.PortMappingProtocol(strings.ToUpper(p.Protocol))})
	}
	return out
}

func applyNetworking(out *v1alpha4.Networking, n kindNetworking) error {
	if n.KubeProxyMode != "" && !slices.Contains(kindProxyModes, n.KubeProxyMode) {
		return engine.Errorf("networking.kubeProxyMode", "must be one of %s, got %q%s", strings.Join(kindProxyModes, ", "), n.KubeProxyMode, didYouMean(n.KubeProxyMode, kindProxyModes))
	}
	if n.IPFamily != "" && !slices.Contains(kindFamilies, n.IPFamily) {
		return engine.Errorf("networking.ipFamily", "must be one of %s, got %q", strings.Join(kindFamilies, ", "), n.IPFamily)
	}
	for field, cidr := range map[string]string{"podSubnet": n.PodSubnet, "serviceSubnet": n.ServiceSubnet} {
		for _, c := range strings.Split(cidr, ",") {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(c)); cidr != "" && err != nil {
				return engine.Errorf("networking."+field, "%q is not a CIDR", cidr)
			}
		}
	}
	if n.DisableDefaultCNI {
		out.DisableDefaultCNI = true
	}
	if n.KubeProxyMode != "" {
		out.KubeProxyMode = v1alpha4.ProxyMode(n.KubeProxyMode)
	}
	if n.PodSubnet != "" {
		out.PodSubnet = n.PodSubnet
	}
	if n.ServiceSubnet != "" {
		out.ServiceSubnet = n.ServiceSubnet
	}
	if n.IPFamily != "" {
		out.IPFamily = v1alpha4.ClusterIPFamily(n.IPFamily)
	}
	if n.APIServerAddress != "" {
		out.APIServerAddress = n.APIServerAddress
	}
	if n.APIServerPort != 0 {
		out.APIServerPort = int32(n.APIServerPort)
	}
	return nil
}

// mirrorPatches writes the containerd registry-mirror patch the seed wrote by hand, one per
// registry, sorted so the config (and its hash) is stable.
func mirrorPatches(mirrors map[string]string) []string {
	hosts := make([]string, 0, len(mirrors))
	for h := range mirrors {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var patches []string
	for _, h := range hosts {
		patches = append(patches, fmt.Sprintf("[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.%q]\n  endpoint = [%q]", h, mirrors[h]))
	}
	return patches
}

// renderKindConfig is the config as kind reads it (and as `plan` shows it).
func renderKindConfig(cfg *v1alpha4.Cluster) (string, error) {
	out, err := sigsyaml.Marshal(cfg)
	return string(out), err
}
