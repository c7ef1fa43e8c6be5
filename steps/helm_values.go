package steps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/valuemap"
	"github.com/kindlab/playbook/internal/valuescheck"
	"go.yaml.in/yaml/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/strvals"
)

// helmValues are the value sources of a Helm step, merged as the helm CLI does: files first,
// then values, then each set string.
type helmValues struct {
	Values      map[string]any `yaml:"values" doc:"values as a nested map; ${{ }} is filled in"`
	Set         []string       `yaml:"set" doc:"helm --set strings (a.b=c, list[0]=x), applied last"`
	ValuesFiles []string       `yaml:"valuesFiles" doc:"values files, relative to the playbook, applied first"`
}

func (v *helmValues) merged(dir string) (map[string]any, error) {
	out := map[string]any{}
	for i, f := range v.ValuesFiles {
		fileValues, _, err := readValuesFile(dir, f)
		if err != nil {
			return nil, engine.Errorf(fmt.Sprintf("valuesFiles[%d]", i), "%v", err)
		}
		valuemap.Merge(out, fileValues)
	}
	valuemap.Merge(out, v.Values)
	for i, s := range v.Set {
		if err := strvals.ParseInto(s, out); err != nil {
			return nil, engine.Errorf(fmt.Sprintf("set[%d]", i), "%v", err)
		}
	}
	return out, nil
}

func readValuesFile(dir, f string) (map[string]any, *yaml.Node, error) {
	path := f
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, f)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	values := map[string]any{}
	if err := node.Decode(&values); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return values, &node, nil
}

// check reports, for each source on its own, the keys the chart would ignore: each problem
// then points at the line that has it.
func (v *helmValues) check(known *valuescheck.Known, dir string) error {
	var errs []error
	for _, f := range v.ValuesFiles {
		fileValues, node, err := readValuesFile(dir, f)
		if err != nil {
			continue // merged() reports it
		}
		for _, p := range known.Check(fileValues) {
			at := keyPosition(node, p.Path)
			errs = append(errs, engine.Diagnostic{File: filepath.Join(dir, f), Line: at.Line, Col: at.Column, Msg: p.String() + " (the chart does not read it)"})
		}
	}
	for _, p := range known.Check(v.Values) {
		errs = append(errs, engine.Errorf("values."+strings.Join(p.Path, "."), "%s (the chart does not read it)", p))
	}
	for i, s := range v.Set {
		one := map[string]any{}
		if strvals.ParseInto(s, one) != nil {
			continue
		}
		for _, p := range known.Check(one) {
			errs = append(errs, engine.Errorf(fmt.Sprintf("set[%d]", i), "%s (the chart does not read it)", p))
		}
	}
	return errors.Join(errs...)
}

func keyPosition(n *yaml.Node, path []string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	at := n
	for _, key := range path {
		found := false
		for i := 0; i+1 < len(n.Content) && n.Kind == yaml.MappingNode; i += 2 {
			if n.Content[i].Value == key {
				at, n, found = n.Content[i], n.Content[i+1], true
				break
			}
		}
		if !found {
			break
		}
	}
	return at
}

var knownCache sync.Map // chart path -> *valuescheck.Known

func knownValues(path string, ch *chart.Chart) (*valuescheck.Known, error) {
	if k, ok := knownCache.Load(path); ok {
		return k.(*valuescheck.Known), nil
	}
	k, err := valuescheck.FromChart(ch)
	if err != nil {
		return nil, err
	}
	knownCache.Store(path, k)
	return k, nil
}
