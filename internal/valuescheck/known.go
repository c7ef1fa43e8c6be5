// Package valuescheck finds the keys of user-supplied Helm values that a chart would silently
// ignore. A key "exists" when the chart's values.yaml has it, a template reads it (.Values.a.b,
// also through with, range, index and variables), or values.schema.json lists it. Nothing is
// specific to one chart.
package valuescheck

import (
	"encoding/json"
	"sort"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// Known is what one chart reads.
type Known struct {
	paths map[string]bool // every known path and its prefixes, dot-joined
	open  map[string]bool // any key below these is accepted (free-form maps)
}

func newKnown() *Known { return &Known{paths: map[string]bool{}, open: map[string]bool{}} }

func (k *Known) add(path []string) {
	for i := 1; i <= len(path); i++ {
		k.paths[strings.Join(path[:i], ".")] = true
	}
}

func (k *Known) markOpen(path []string) {
	if len(path) == 0 {
		return // the root stays closed, or nothing could ever be checked
	}
	k.add(path)
	k.open[strings.Join(path, ".")] = true
}

// FromChart collects what a chart reads, subcharts' values excepted (they are open under the
// subchart's name, as is `global`).
func FromChart(ch *chart.Chart) (*Known, error) {
	k := newKnown()
	k.fromValues(nil, ch.Values)
	for _, t := range ch.Templates {
		if err := k.fromTemplate(t.Name, string(t.Data)); err != nil {
			return nil, err
		}
	}
	if len(ch.Schema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(ch.Schema, &schema); err == nil {
			k.fromSchema(nil, schema)
		}
	}
	for _, dep := range ch.Dependencies() {
		k.markOpen([]string{dep.Name()})
	}
	if ch.Metadata != nil {
		for _, dep := range ch.Metadata.Dependencies {
			name := dep.Name
			if dep.Alias != "" {
				name = dep.Alias
			}
			k.markOpen([]string{name})
		}
	}
	k.markOpen([]string{"global"})
	return k, nil
}

func (k *Known) fromValues(prefix []string, values map[string]any) {
	for key, v := range values {
		path := append(append([]string{}, prefix...), key)
		k.add(path)
		if m, ok := v.(map[string]any); ok {
			if len(m) == 0 {
				k.markOpen(path) // `annotations: {}` invites keys of the user's choosing
			} else {
				k.fromValues(path, m)
			}
		}
	}
}

// fromSchema takes the properties a schema lists. A schema without
// `additionalProperties: false` formally accepts anything, so only an explicit invitation
// (additionalProperties as a schema or true, patternProperties) opens a map.
func (k *Known) fromSchema(prefix []string, schema map[string]any) {
	props, _ := schema["properties"].(map[string]any)
	for key, sub := range props {
		path := append(append([]string{}, prefix...), key)
		k.add(path)
		if m, ok := sub.(map[string]any); ok {
			k.fromSchema(path, m)
		}
	}
	switch ap := schema["additionalProperties"].(type) {
	case bool:
		if ap {
			k.markOpen(prefix)
		}
	case map[string]any:
		k.markOpen(prefix)
	}
	if _, ok := schema["patternProperties"]; ok {
		k.markOpen(prefix)
	}
}

// Paths lists the known paths, sorted.
func (k *Known) Paths() []string {
	out := make([]string, 0, len(k.paths))
	for p := range k.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
