package model

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MatrixKind is the kind of a matrix file: playbooks times sets of vars, run as one job.
const MatrixKind = "Matrix"

// Matrix is a matrix file, as GitHub Actions' strategy.matrix: every combination of the
// playbooks and each var's values is a cell; exclude drops combinations, include extends the
// ones it matches or adds its own.
//
//	apiVersion: playbook/v1
//	kind: Matrix
//	name: modes
//	playbooks: [kubeproxy.yaml, kpr.yaml, kpr-ebpf.yaml]
//	matrix:
//	  ciliumVersion: [1.20.0, 1.19.0]
//	  exclude: [{playbook: kubeproxy.yaml, ciliumVersion: 1.19.0}]
//	  include: [{playbook: kpr-ebpf.yaml, ciliumVersion: 1.18.0}]
type Matrix struct {
	Name  string
	Cells []MatrixCell
}

// MatrixCell is one combination: a playbook (its path) and the vars it runs with.
type MatrixCell struct {
	Name     string
	Playbook string
	Vars     map[string]string // as --var takes them: scalars as written, the rest as JSON
}

// IsMatrix reports whether the YAML file at path says kind: Matrix.
func IsMatrix(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var head struct {
		Kind string `yaml:"kind"`
	}
	return yaml.Unmarshal(data, &head) == nil && head.Kind == MatrixKind
}

// LoadMatrix reads a matrix file; every problem is a diagnostic at its place.
func LoadMatrix(path string) (*Matrix, Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{File: path, Msg: err.Error()}}
	}
	root, d := ParseMapping(path, data, "a matrix file needs apiVersion, kind, name, playbooks", "a matrix file is a mapping")
	if d != nil {
		return nil, Diagnostics{*d}
	}
	l := &loader{}
	fields := l.mapping(path, root, "the matrix file", []string{"apiVersion", "kind", "name", "description", "playbooks", "matrix"})
	l.checkKind(path, root, fields, MatrixKind)
	for _, key := range []string{"name", "playbooks"} {
		if _, ok := fields[key]; !ok {
			l.errorf(path, root, "", "missing required key %q", key)
		}
	}
	m := &Matrix{}
	m.Name, _ = l.scalar(path, fields, "name")

	dir := filepath.Dir(path)
	var playbooks []string
	if e, ok := fields["playbooks"]; ok {
		for _, n := range l.list(path, e.Value, "playbooks") {
			n = Resolve(n)
			if n.Kind != yaml.ScalarNode || n.Value == "" {
				l.errorf(path, n, "", "playbooks: expected a file name, got %s", Describe(n))
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, n.Value)); err != nil {
				l.errorf(path, n, "", "playbooks: no file %s (paths are relative to the matrix file)", n.Value)
				continue
			}
			playbooks = append(playbooks, n.Value)
		}
	}
	axes := []string{"playbook"}
	values := map[string][]string{"playbook": playbooks}
	var include, exclude []map[string]string
	if e, ok := fields["matrix"]; ok {
		mm := Resolve(e.Value)
		if mm.Kind != yaml.MappingNode {
			l.errorf(path, mm, "", "matrix: expected a mapping of var: [values], include and exclude, got %s", Describe(mm))
		} else {
			for k, v := range l.mapping(path, mm, "matrix", nil) {
				switch k {
				case "include", "exclude":
					var entries []map[string]string
					for _, n := range l.list(path, v.Value, "matrix."+k) {
						entries = append(entries, l.combination(path, n, "matrix."+k))
					}
					if k == "include" {
						include = entries
					} else {
						exclude = entries
					}
				case "playbook":
					l.errorf(path, v.Key, "", "matrix: the playbooks are the top-level playbooks list")
				default:
					axes = append(axes, k)
					for _, n := range l.list(path, v.Value, "matrix."+k) {
						values[k] = append(values[k], flat(n))
					}
					if len(values[k]) == 0 {
						l.errorf(path, v.Value, "", "matrix.%s: give at least one value", k)
					}
				}
			}
		}
	}
	if len(l.diags) > 0 {
		return nil, l.diags
	}
	slices.Sort(axes[1:])
	m.Cells = expand(axes, values, include, exclude)
	for i := range m.Cells {
		m.Cells[i].Playbook = filepath.Join(dir, m.Cells[i].Playbook)
	}
	nameCells(m.Cells)
	return m, nil
}

// combination reads an include or exclude entry: a mapping of axis (or var) to one value.
func (l *loader) combination(path string, n *yaml.Node, what string) map[string]string {
	n = Resolve(n)
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		l.errorf(path, n, "", "%s: expected a mapping like {playbook: kpr.yaml, ciliumVersion: 1.20.0}, got %s", what, Describe(n))
		return out
	}
	for k, v := range l.mapping(path, n, what, nil) {
		out[k] = flat(v.Value)
	}
	return out
}

// flat is a value as --var takes it: a scalar as written, anything else as JSON.
func flat(n *yaml.Node) string {
	n = Resolve(n)
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var v any
	_ = n.Decode(&v)
	b, _ := json.Marshal(v)
	return string(b)
}

// expand is GitHub's rule: the product of the axes, less every combination that an exclude
// entry matches on all its keys; then each include entry is merged into every combination
// whose axis values it matches and whose values it overwrites none of, or else added.
func expand(axes []string, values map[string][]string, include, exclude []map[string]string) []MatrixCell {
	combos := []map[string]string{{}}
	for _, axis := range axes {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range values[axis] {
				n := map[string]string{axis: v}
				for k, old := range c {
					n[k] = old
				}
				next = append(next, n)
			}
		}
		combos = next
	}
	matches := func(c, entry map[string]string) bool {
		for k, v := range entry {
			if c[k] != v {
				return false
			}
		}
		return true
	}
	var kept []map[string]string
	for _, c := range combos {
		if !slices.ContainsFunc(exclude, func(e map[string]string) bool { return matches(c, e) }) {
			kept = append(kept, c)
		}
	}
	original := len(kept)
	for _, entry := range include {
		merged := false
		for _, c := range kept[:original] {
			fits := true
			for k, v := range entry {
				if old, ok := c[k]; ok && old != v && slices.Contains(axes, k) {
					fits = false
				}
			}
			if fits {
				for k, v := range entry {
					if _, ok := c[k]; !ok {
						c[k] = v
					}
				}
				merged = true
			}
		}
		if !merged {
			c := map[string]string{}
			for k, v := range entry {
				c[k] = v
			}
			kept = append(kept, c)
		}
	}
	var cells []MatrixCell
	for _, c := range kept {
		cell := MatrixCell{Playbook: c["playbook"], Vars: map[string]string{}}
		for k, v := range c {
			if k != "playbook" {
				cell.Vars[k] = v
			}
		}
		cells = append(cells, cell)
	}
	return cells
}

// nameCells names each cell by its playbook's file name and the vars that tell it apart from
// the others: kpr-ebpf, or kpr-ebpf ciliumVersion=1.19.0.
func nameCells(cells []MatrixCell) {
	varies := map[string]bool{}
	for _, c := range cells {
		for k, v := range c.Vars {
			for _, o := range cells {
				if o.Vars[k] != v {
					varies[k] = true
				}
			}
		}
	}
	for i, c := range cells {
		parts := []string{strings.TrimSuffix(filepath.Base(c.Playbook), filepath.Ext(c.Playbook))}
		for _, k := range slices.Sorted(maps.Keys(c.Vars)) {
			if varies[k] {
				parts = append(parts, k+"="+c.Vars[k])
			}
		}
		cells[i].Name = strings.Join(parts, " ")
	}
}
