package steps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/fanout"
	"github.com/kindlab/playbook/internal/kube"
	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// fieldManager is who server-side apply records as the owner of the fields a playbook sets.
const fieldManager = "playbook"

type applyParams struct {
	kube.Target `yaml:",inline"`
	Files       []string `yaml:"files" doc:"manifest files, globs or directories (their .yaml, .yml and .json files), relative to the playbook"`
	Manifests   []any    `yaml:"manifests" doc:"inline manifests: YAML text (several documents allowed) or mappings; ${{ }} is filled in"`
	URLs        []string `yaml:"urls" doc:"manifests to download (http or https)"`
	Namespace   string   `yaml:"namespace" doc:"namespace for namespaced objects that name none (default: the kubeconfig context's, else default)"`
	Force       bool     `yaml:"force" doc:"take over fields that another manager owns (server-side apply conflicts)"`
	Concurrency int      `yaml:"concurrency" doc:"objects applied at once (default 16)"`
}

func init() {
	engine.Register(engine.StepType[applyParams]{
		Name:    "kubectlApply",
		Summary: "server-side apply manifests (files, inline, URLs); Namespaces and CRDs first",
		Example: `- name: the demo namespace
  kubectlApply:
    manifests:
      - apiVersion: v1
        kind: Namespace
        metadata: {name: demo}`,
		Outputs: []engine.OutputDoc{
			{Name: "objects", Type: "list", Doc: "each object: kind, apiVersion, namespace, name, uid, result (created, configured, unchanged)"},
			{Name: "created", Type: "int", Doc: "how many objects were created"},
			{Name: "configured", Type: "int", Doc: "how many existing objects changed"},
			{Name: "unchanged", Type: "int", Doc: "how many were already as applied"},
		},
		Validate: func(p *applyParams) error {
			if len(p.Files)+len(p.Manifests)+len(p.URLs) == 0 {
				return engine.Errorf("files", "give files, manifests or urls")
			}
			if p.Concurrency < 0 {
				return engine.Errorf("concurrency", "must be positive")
			}
			return nil
		},
		Files: func(p *applyParams) []string { return p.Files },
		Run:   runApply,
	})
}

func runApply(ctx context.Context, rt *engine.Runtime, p *applyParams) (map[string]any, error) {
	objs, err := collectManifests(ctx, rt.Dir(), p)
	if err != nil {
		return nil, err
	}
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return nil, err
	}
	a := &applier{c: c, rt: rt, p: p, results: make([]map[string]any, len(objs))}
	first, rest := splitFirst(objs)
	if err := a.applyAll(ctx, first); err != nil {
		return a.outputs(), err
	}
	if err := a.waitForCRDs(ctx, first); err != nil {
		return a.outputs(), err
	}
	if err := a.applyAll(ctx, rest); err != nil {
		return a.outputs(), err
	}
	return a.outputs(), nil
}

type indexedObject struct {
	index int
	obj   *unstructured.Unstructured
}

// splitFirst puts Namespaces and CRDs before everything else, because other objects live in
// them or are of their kinds.
func splitFirst(objs []*unstructured.Unstructured) (first, rest []indexedObject) {
	for i, o := range objs {
		gk := o.GroupVersionKind().GroupKind()
		if (gk.Group == "" && gk.Kind == "Namespace") || (gk.Group == "apiextensions.k8s.io" && gk.Kind == "CustomResourceDefinition") {
			first = append(first, indexedObject{i, o})
		} else {
			rest = append(rest, indexedObject{i, o})
		}
	}
	return first, rest
}

func collectManifests(ctx context.Context, dir string, p *applyParams) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	add := func(data []byte, source string) error {
		decoded, err := kube.Decode(data, source)
		objs = append(objs, decoded...)
		return err
	}
	for _, pattern := range p.Files {
		paths, err := expandManifestPaths(dir, pattern)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if err := add(data, path); err != nil {
				return nil, err
			}
		}
	}
	for i, m := range p.Manifests {
		data, ok := m.(string)
		if !ok {
			out, err := yaml.Marshal(m)
			if err != nil {
				return nil, err
			}
			data = string(out)
		}
		if err := add([]byte(data), fmt.Sprintf("manifests[%d]", i)); err != nil {
			return nil, err
		}
	}
	for _, url := range p.URLs {
		data, err := download(ctx, url)
		if err != nil {
			return nil, err
		}
		if err := add(data, url); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func expandManifestPaths(dir, pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("files: bad pattern %q: %v", pattern, err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("files: nothing matches %s", pattern)
	}
	var paths []string
	for _, m := range matches {
		info, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			paths = append(paths, m)
			continue
		}
		entries, err := os.ReadDir(m)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".yaml", ".yml", ".json":
				paths = append(paths, filepath.Join(m, e.Name()))
			}
		}
	}
	sort.Strings(paths)
	return paths, nil
}

func download(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

type applier struct {
	c       *kube.Client
	rt      *engine.Runtime
	p       *applyParams
	mu      sync.Mutex
	results []map[string]any
}

func (a *applier) applyAll(ctx context.Context, objs []indexedObject) error {
	limit := a.p.Concurrency
	if limit == 0 {
		limit = 16
	}
	return fanout.Each(ctx, len(objs), limit, func(ctx context.Context, i int) error {
		o := objs[i]
		result, err := a.applyOne(ctx, o.obj)
		if err != nil {
			return fmt.Errorf("%s: %w", kube.Describe(o.obj), err)
		}
		a.mu.Lock()
		a.results[o.index] = result
		a.mu.Unlock()
		return nil
	})
}

func (a *applier) applyOne(ctx context.Context, obj *unstructured.Unstructured) (map[string]any, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.c.MappingFor(gvk.Kind, gvk.GroupVersion().String())
	if err != nil {
		return nil, err
	}
	obj = obj.DeepCopy()
	var r dynamic.ResourceInterface = a.c.Dynamic.Resource(m.Resource)
	if kube.Namespaced(m) {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(a.c.Namespace(a.p.Namespace))
		}
		r = a.c.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace())
	} else {
		obj.SetNamespace("")
	}
	before, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	after, err := r.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: a.p.Force})
	if err != nil {
		return nil, err
	}
	result := "configured"
	switch {
	case !existed:
		result = "created"
	case before.GetResourceVersion() == after.GetResourceVersion():
		result = "unchanged" // a no-op apply writes nothing
	}
	a.rt.Logf("%s %s", kube.Describe(after), result)
	return map[string]any{"kind": after.GetKind(), "apiVersion": after.GetAPIVersion(), "namespace": after.GetNamespace(),
		"name": after.GetName(), "uid": string(after.GetUID()), "result": result}, nil
}

// waitForCRDs waits until the CRDs just applied serve their kinds, so that objects of those
// kinds in the same step can be applied.
func (a *applier) waitForCRDs(ctx context.Context, objs []indexedObject) error {
	var crds []*unstructured.Unstructured
	for _, o := range objs {
		if o.obj.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.obj)
		}
	}
	if len(crds) == 0 {
		return nil
	}
	crdClient := a.c.Dynamic.Resource(kube.CRDResource)
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, crd := range crds {
			got, err := crdClient.Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			if !kube.HasCondition(got.Object, "Established", "True") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("CRDs not established within a minute: %w", err)
	}
	a.c.ResetDiscovery()
	return nil
}

func (a *applier) outputs() map[string]any {
	objects := []any{}
	counts := map[string]int{}
	for _, r := range a.results {
		if r != nil {
			objects = append(objects, r)
			counts[r["result"].(string)]++
		}
	}
	return map[string]any{"objects": objects, "created": counts["created"], "configured": counts["configured"], "unchanged": counts["unchanged"]}
}
