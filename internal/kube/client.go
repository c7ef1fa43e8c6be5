// Package kube is the Kubernetes plumbing the step plugins share: connecting from a
// kubeconfig, resolving kinds through discovery, decoding manifests. It is not a step.
package kube

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Target is what every Kubernetes step takes to find its cluster.
type Target struct {
	Kubeconfig string `yaml:"kubeconfig" doc:"kubeconfig file (e.g. the kubeconfig output of kindCreate); default: $KUBECONFIG, then ~/.kube/config"`
	Context    string `yaml:"context" doc:"kubeconfig context; default: its current context"`
}

// Client bundles the clients a step needs, sharing one discovery cache.
type Client struct {
	Config    *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	expander  meta.RESTMapper
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*Client{}
)

// Connect returns a client for the target, reusing one per kubeconfig and context so that
// steps in one run share discovery instead of asking the server again. dir resolves a
// relative kubeconfig path (the playbook's directory).
func Connect(t Target, dir string) (*Client, error) {
	path := t.Kubeconfig
	if path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	key := path + "\x00" + t.Context
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[key]; ok {
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: t.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// Client-side rate limiting (5 QPS by default) would serialise a concurrent apply of
	// hundreds of objects; the API server's priority and fairness is the limit that matters.
	cfg.QPS = -1
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	clients[key] = c
	return c, nil
}

func newClient(cfg *rest.Config) (*Client, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc := memory.NewMemCacheClient(cs.Discovery())
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(disc)
	return &Client{Config: cfg, Clientset: cs, Dynamic: dyn, discovery: disc, mapper: mapper,
		expander: restmapper.NewShortcutExpander(mapper, disc, func(string) {})}, nil
}

// MappingFor resolves a kind as a user writes it ("DaemonSet", "daemonsets", "ds",
// "deployment.apps") or an exact GroupVersionKind when apiVersion is given.
func (c *Client) MappingFor(kind, apiVersion string) (*meta.RESTMapping, error) {
	if apiVersion != "" {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return nil, err
		}
		return c.mapping(gv.WithKind(kind))
	}
	resource, group, _ := strings.Cut(strings.ToLower(kind), ".")
	gvk, err := c.expander.KindFor(schema.GroupVersionResource{Group: group, Resource: resource})
	if err != nil {
		c.mapper.Reset()
		gvk, err = c.expander.KindFor(schema.GroupVersionResource{Group: group, Resource: resource})
		if err != nil {
			return nil, fmt.Errorf("the server has no kind %q", kind)
		}
	}
	return c.mapping(gvk)
}

func (c *Client) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CRD applied a moment ago: discovery has to be asked again.
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("the server has no %s: %w", gvk, err)
	}
	return m, nil
}

// ResetDiscovery forgets cached discovery, after CRDs were created.
func (c *Client) ResetDiscovery() { c.mapper.Reset() }

// Namespaced reports whether objects of the mapping live in a namespace.
func Namespaced(m *meta.RESTMapping) bool { return m.Scope.Name() == meta.RESTScopeNameNamespace }
