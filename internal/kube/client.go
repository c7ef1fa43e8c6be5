// Package kube is the Kubernetes plumbing the step plugins share: connecting from a
// kubeconfig, resolving kinds through discovery, decoding manifests. It is not a step.
package kube

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kindlab/playbook/engine"

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
	namespace string // the kubeconfig context's, or "default"
}

// clientKey names a client by what it connects with: the kubeconfig's content and the
// context. kind gives a recreated cluster a new port and CA in the same file, so a key by
// path would keep talking to the old one.
type clientKey struct {
	sum     [sha256.Size]byte
	context string
}

// Connect returns the run's client for the target, made once per kubeconfig content and
// context and kept on the runtime, as kind's ActionContext keeps what one create needs: steps
// of a run share discovery, and nothing outlives the run.
func Connect(rt *engine.Runtime, t Target) (*Client, error) {
	cc, key, err := load(t, rt.Dir())
	if err != nil {
		return nil, err
	}
	v, err := rt.Shared(key, func() (any, error) { return connect(cc) })
	if err != nil {
		return nil, err
	}
	return v.(*Client), nil
}

// ConnectOnce is a client for one use outside a run (plan asking the cluster's version).
func ConnectOnce(t Target, dir string) (*Client, error) {
	cc, _, err := load(t, dir)
	if err != nil {
		return nil, err
	}
	return connect(cc)
}

func load(t Target, dir string) (clientcmd.ClientConfig, clientKey, error) {
	path := t.Kubeconfig
	if path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, clientKey{}, fmt.Errorf("kubeconfig: %w", err)
	}
	content, err := clientcmd.Write(*raw)
	if err != nil {
		return nil, clientKey{}, fmt.Errorf("kubeconfig: %w", err)
	}
	cc := clientcmd.NewNonInteractiveClientConfig(*raw, t.Context, &clientcmd.ConfigOverrides{CurrentContext: t.Context}, rules)
	return cc, clientKey{sha256.Sum256(content), t.Context}, nil
}

func connect(cc clientcmd.ClientConfig) (*Client, error) {
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
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
	c.namespace = ns
	return c, nil
}

// Namespace is the namespace a step acts in: the one it names, else the kubeconfig
// context's, else "default", as kubectl chooses.
func (c *Client) Namespace(named string) string {
	switch {
	case named != "":
		return named
	case c.namespace != "":
		return c.namespace
	}
	return "default"
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
	gvr := schema.GroupVersionResource{Group: group, Resource: resource}
	gvk, err := c.expander.KindFor(gvr)
	if err != nil {
		c.mapper.Reset()
		gvk, err = c.expander.KindFor(gvr)
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the server has no kind %q", kind)
		}
		if err != nil && !meta.IsAmbiguousError(err) {
			// Not an unknown kind: the server could not be asked (down, moved, refused).
			return nil, fmt.Errorf("asking %s for its kinds: %w", c.Config.Host, err)
		}
	}
	if err != nil || !builtinGroup(gvk.Group) {
		if ambiguous := c.unambiguous(kind, gvr); ambiguous != nil {
			return nil, ambiguous
		}
		if err != nil {
			return nil, err
		}
	}
	return c.mapping(gvk)
}

// unambiguous refuses to guess between API groups of custom resources. Where Kubernetes
// decides (events are core's, not events.k8s.io's) the kind is picked as kubectl picks it, but
// `widgets` served by two CRDs would read one of them, perhaps not the one meant, and report a
// missing object rather than a question that cannot be answered.
func (c *Client) unambiguous(name string, gvr schema.GroupVersionResource) error {
	kinds, err := c.expander.KindsFor(gvr)
	if err != nil {
		return err
	}
	var groups []string
	for _, k := range kinds {
		if !slices.Contains(groups, k.Group) {
			groups = append(groups, k.Group)
		}
	}
	if len(groups) < 2 {
		return nil
	}
	return fmt.Errorf("kind %q is served by %d API groups (%s): write it with its group, as %s.%s, or set apiVersion",
		name, len(groups), strings.Join(groups, ", "), gvr.Resource, groups[0])
}

// builtinGroup reports whether a group is Kubernetes' own: the core group, a dotless one
// (apps, batch) or one under k8s.io.
func builtinGroup(group string) bool {
	return group == "" || !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
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

// NamespaceOf is Client.Namespace without a client: for Helm, which makes its own.
func NamespaceOf(t Target, dir, named string) string {
	if named != "" {
		return named
	}
	if cc, _, err := load(t, dir); err == nil {
		if ns, _, err := cc.Namespace(); err == nil && ns != "" {
			return ns
		}
	}
	return "default"
}

// ServerVersion asks the cluster its Kubernetes version, giving up after timeout.
func ServerVersion(t Target, dir string, timeout time.Duration) (string, error) {
	cc, _, err := load(t, dir)
	if err != nil {
		return "", err
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return "", err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = timeout
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	v, err := d.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}
