package valuescheck

import (
	"fmt"
	"text/template/parse"
)

// passThrough are functions that hand a whole values subtree on (to YAML, to another template,
// to a map operation): every key below what they get is then in use.
var passThrough = map[string]bool{
	"toYaml": true, "toJson": true, "toPrettyJson": true, "toRawJson": true, "tpl": true, "include": true,
	"template": true, "merge": true, "mergeOverwrite": true, "deepCopy": true, "pick": true, "omit": true,
	"keys": true, "values": true, "get": true, "hasKey": true, "dig": true, "toToml": true, "b64enc": true,
}

// ref is what a template expression points at: a path under .Values, or nothing known.
type ref struct {
	ok   bool
	path []string
}

type scope struct {
	dot  ref            // what `.` is: the root context (ok with a nil path? no: see root)
	root bool           // `.` is the chart's root context (.Values is reachable from it)
	vars map[string]ref // $x := .Values.a
}

func (s scope) with(dot ref, root bool) scope {
	vars := make(map[string]ref, len(s.vars))
	for k, v := range s.vars {
		vars[k] = v
	}
	return scope{dot: dot, root: root, vars: vars}
}

func (k *Known) fromTemplate(name, text string) error {
	trees, err := parseTemplate(name, text)
	if err != nil {
		return fmt.Errorf("template %s: %w", name, err)
	}
	for _, t := range trees {
		if t.Root == nil {
			continue
		}
		// Named templates are almost always called with the root context (include "x" .).
		k.walkList(t.Root, scope{root: true, vars: map[string]ref{"$": {}}})
	}
	return nil
}

func parseTemplate(name, text string) (map[string]*parse.Tree, error) {
	trees := map[string]*parse.Tree{}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	if _, err := t.Parse(text, "{{", "}}", trees); err != nil {
		return nil, err
	}
	return trees, nil
}

func (k *Known) walkList(l *parse.ListNode, s scope) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		k.walk(n, s)
	}
}

func (k *Known) walk(n parse.Node, s scope) {
	switch n := n.(type) {
	case *parse.ActionNode:
		k.pipe(n.Pipe, s)
	case *parse.IfNode:
		k.pipe(n.Pipe, s)
		k.walkList(n.List, s)
		k.walkList(n.ElseList, s)
	case *parse.WithNode:
		r := k.pipe(n.Pipe, s)
		inner := s.with(r, false)
		k.declare(n.Pipe, r, inner)
		k.walkList(n.List, inner)
		k.walkList(n.ElseList, s)
	case *parse.RangeNode:
		r := k.pipe(n.Pipe, s)
		if r.ok {
			k.markOpen(r.path) // elements of a ranged map or list are the user's own
		}
		k.walkList(n.List, s.with(ref{}, false))
		k.walkList(n.ElseList, s)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			if r := k.pipe(n.Pipe, s); r.ok {
				k.markOpen(r.path)
			}
		}
	case *parse.ListNode:
		k.walkList(n, s)
	}
}

// pipe records every values reference in a pipeline and returns what the pipeline yields
// when that is a values path (for with and variable declarations).
func (k *Known) pipe(p *parse.PipeNode, s scope) ref {
	if p == nil {
		return ref{}
	}
	var last ref
	for i, cmd := range p.Cmds {
		last = k.command(cmd, s, i > 0)
	}
	k.declare(p, last, s)
	return last
}

func (k *Known) declare(p *parse.PipeNode, r ref, s scope) {
	for _, v := range p.Decl {
		if len(v.Ident) > 0 {
			s.vars[v.Ident[0]] = r
		}
	}
}

// command handles one command of a pipeline; piped says a previous command's value is passed
// in as the last argument.
func (k *Known) command(c *parse.CommandNode, s scope, piped bool) ref {
	if len(c.Args) == 0 {
		return ref{}
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		args := c.Args[1:]
		if id.Ident == "index" && len(args) > 0 {
			return k.index(args, s)
		}
		// hasKey .Values.bpf "masquerade" and get .Values.x "y" name one key, not the map.
		if (id.Ident == "hasKey" || id.Ident == "get") && len(args) == 2 {
			if key, ok := args[1].(*parse.StringNode); ok {
				if base := k.arg(args[0], s); base.ok {
					path := append(append([]string{}, base.path...), key.Text)
					k.add(path)
					return ref{ok: true, path: path}
				}
				return ref{}
			}
		}
		for _, a := range args {
			r := k.arg(a, s)
			if r.ok && passThrough[id.Ident] {
				k.markOpen(r.path)
			}
		}
		return ref{}
	}
	if len(c.Args) == 1 {
		return k.arg(c.Args[0], s)
	}
	for _, a := range c.Args {
		k.arg(a, s)
	}
	return ref{}
}

// index .Values "a" "b": a path as long as its keys are literal strings; a key computed at
// render time makes everything below the literal part possible.
func (k *Known) index(args []parse.Node, s scope) ref {
	base := k.arg(args[0], s)
	if !base.ok {
		for _, a := range args[1:] {
			k.arg(a, s)
		}
		return ref{}
	}
	path := append([]string{}, base.path...)
	for _, a := range args[1:] {
		str, ok := a.(*parse.StringNode)
		if !ok {
			k.arg(a, s)
			k.markOpen(path)
			return ref{}
		}
		path = append(path, str.Text)
	}
	k.add(path)
	return ref{ok: true, path: path}
}

func (k *Known) arg(n parse.Node, s scope) ref {
	switch n := n.(type) {
	case *parse.FieldNode:
		return k.fields(s.dot, s.root, n.Ident)
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			return k.fields(ref{}, true, n.Ident[1:])
		}
		return k.fields(s.vars[n.Ident[0]], false, n.Ident[1:])
	case *parse.ChainNode:
		var base ref
		root := false
		switch inner := n.Node.(type) {
		case *parse.PipeNode:
			base = k.pipe(inner, s)
		case *parse.DotNode:
			base, root = s.dot, s.root
		case *parse.VariableNode:
			base = k.arg(inner, s)
		default:
			k.walk(inner, s)
		}
		return k.fields(base, root, n.Field)
	case *parse.DotNode:
		return s.dot
	case *parse.PipeNode:
		return k.pipe(n, s)
	}
	return ref{}
}

// fields follows .a.b from a base: the root context (where .Values starts a path) or a
// values path.
func (k *Known) fields(base ref, root bool, idents []string) ref {
	switch {
	case root && len(idents) > 0 && idents[0] == "Values":
		path := append([]string{}, idents[1:]...)
		k.add(path)
		return ref{ok: true, path: path}
	case base.ok:
		path := append(append([]string{}, base.path...), idents...)
		k.add(path)
		return ref{ok: true, path: path}
	}
	return ref{}
}
