package engine

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// resolveVars evaluates vars in dependency order: a var may be computed from others (the
// chart values of one Cilium version from `ciliumVersion`), never from step results.
func (l *loader) resolveVars(pb *Playbook) {
	scope := &Scope{Vars: map[string]bool{}, InVars: true}
	for _, v := range l.vars {
		scope.Vars[v.name] = true
	}
	cache := map[*yaml.Node]any{}
	deps := map[string][]string{}
	for _, v := range l.vars {
		d := &decoder{file: v.file, scope: scope, cache: cache}
		walkTemplates(v.node, func(n *yaml.Node) {
			t := d.template(n)
			if t == nil {
				return
			}
			for _, e := range t.Exprs() {
				deps[v.name] = append(deps[v.name], e.VarRefs...)
			}
		})
		l.diags = append(l.diags, d.diags...)
	}
	if len(l.diags) > 0 {
		return
	}
	order, cycle := topoSort(l.varNames(), deps)
	if cycle != nil {
		v := l.vars[l.varIdx[cycle[0]]]
		l.errorf(v.file, v.node, "", "vars depend on each other in a cycle: %s", strings.Join(cycle, " -> "))
		return
	}
	pb.Vars = make(map[string]any, len(order))
	env := &Env{Vars: pb.Vars}
	for _, name := range order {
		v := l.vars[l.varIdx[name]]
		d := &decoder{file: v.file, scope: scope, cache: cache, env: env}
		val, _ := d.value(v.node, "vars."+name)
		l.diags = append(l.diags, d.diags...)
		pb.Vars[name] = val
	}
	pb.VarOrder = l.varNames()
}

func walkTemplates(n *yaml.Node, fn func(*yaml.Node)) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!str" && HasTemplate(n.Value) {
			fn(n)
		}
		return
	}
	for _, c := range n.Content {
		walkTemplates(c, fn)
	}
}

// topoSort orders names so that each comes after what it depends on, keeping declaration
// order otherwise; it returns the cycle when there is one.
func topoSort(names []string, deps map[string][]string) ([]string, []string) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order, path, cycle []string
	var visit func(string) bool
	visit = func(n string) bool {
		switch state[n] {
		case done:
			return true
		case visiting:
			for i, p := range path {
				if p == n {
					cycle = append(append([]string{}, path[i:]...), n)
				}
			}
			return false
		}
		state[n] = visiting
		path = append(path, n)
		for _, d := range deps[n] {
			if !visit(d) {
				return false
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		order = append(order, n)
		return true
	}
	for _, n := range names {
		if !visit(n) {
			return nil, cycle
		}
	}
	return order, nil
}
