package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kindlab/playbook/model"
	"go.yaml.in/yaml/v3"
)

// secretMinLen is the shortest value that is masked: masking a one- or two-letter value would
// blank out every occurrence of those letters in all output.
const secretMinLen = 4

// varDecl is a var as the compiler sees it: its declaration, and the override that replaces
// its value, if any.
type varDecl struct {
	model.Var
	given    *yaml.Node // the override's value
	givenBy  string     // "--var NAME" or the vars file
	fromFlag bool       // typed on the command line: text to coerce
	secret   bool
}

// overrides applies --vars-file then --var to the declared vars. Only declared vars can be
// set (a misspelled override that does nothing is the bug this tool exists to prevent), and
// each value takes the declared var's type.
func (c *compiler) overrides(opts LoadOptions) ([]varDecl, error) {
	decls := make([]varDecl, len(c.file.Vars))
	index := map[string]int{}
	names := make([]string, len(c.file.Vars))
	for i, v := range c.file.Vars {
		decls[i] = varDecl{Var: v}
		index[v.Name] = i
		names[i] = v.Name
	}
	for _, f := range opts.VarsFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			c.add(Diagnostic{File: f, Msg: err.Error()})
			continue
		}
		root, d := model.ParseMapping(f, data, "expected a mapping of var: value", "expected a mapping of var: value")
		if d != nil {
			c.add(*d)
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k := root.Content[i]
			at, ok := index[k.Value]
			if !ok {
				c.add(model.At(f, k, Suggest(k.Value, names), "unknown var %q: the playbook declares %s", k.Value, strings.Join(names, ", ")))
				continue
			}
			decls[at].given, decls[at].givenBy, decls[at].fromFlag = root.Content[i+1], f, false
		}
	}
	for _, kv := range opts.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--var %q: expected key=value", kv)
		}
		at, declared := index[k]
		if !declared {
			msg := fmt.Sprintf("--var %s: unknown var %q: the playbook declares %s", kv, k, strings.Join(names, ", "))
			if s := Suggest(k, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, usagef("%s", msg)
		}
		decls[at].given = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		decls[at].givenBy, decls[at].fromFlag = "--var "+k, true
	}
	return decls, nil
}

// secrets reads each secret's value (--secret, then the environment, then the file). A
// secret without a value stops only a run, so that validate and plan work without
// credentials.
func (c *compiler) secrets(plan *Plan, given []string) ([]varDecl, error) {
	values := map[string]string{}
	for _, kv := range given {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--secret %q: expected key=value", redactValue(kv))
		}
		values[k] = v
	}
	vars := map[string]bool{}
	for _, v := range c.file.Vars {
		vars[v.Name] = true
	}
	var out []varDecl
	var masked []string
	declared := map[string]bool{}
	for _, s := range c.file.Secrets {
		if vars[s.Name] {
			c.add(model.At(s.File, s.Key, "", "%q is declared both as a var and as a secret", s.Name))
			continue
		}
		declared[s.Name] = true
		value, ok := values[s.Name]
		if !ok && s.Env != "" {
			value, ok = os.LookupEnv(s.Env)
		}
		if !ok && s.Path != "" {
			path := s.Path
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(s.File), path)
			}
			if data, err := os.ReadFile(path); err == nil {
				value, ok = strings.TrimRight(string(data), "\r\n"), true
			}
		}
		if !ok {
			plan.missingSecrets = append(plan.missingSecrets, describeSecretSources(s))
		}
		if ok && value != "" && len(value) < secretMinLen {
			d := model.At(s.File, s.Key, "", "secret %q is shorter than %d bytes, so it is not masked (masking it would blank out those letters everywhere): use a longer secret", s.Name, secretMinLen)
			d.Severity = model.Warning
			c.add(d)
		}
		masked = append(masked, value)
		plan.Secrets = append(plan.Secrets, s.Name)
		out = append(out, varDecl{Var: model.Var{Name: s.Name, Key: s.Key, File: s.File,
			Value: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}}, secret: true})
	}
	plan.masker = NewMasker(masked...)
	for k := range values {
		if !declared[k] {
			names := sortedKeys(declared)
			msg := fmt.Sprintf("--secret %s: the playbook declares no secret %q (secrets: %s)", k, k, strings.Join(names, ", "))
			if s := Suggest(k, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, usagef("%s", msg)
		}
	}
	return out, nil
}

func describeSecretSources(s model.Secret) string {
	var ways []string
	if s.Env != "" {
		ways = append(ways, "$"+s.Env)
	}
	if s.Path != "" {
		ways = append(ways, "the file "+s.Path)
	}
	ways = append(ways, "--secret "+s.Name+"=...")
	return fmt.Sprintf("secret %q has no value: set %s", s.Name, strings.Join(ways, " or "))
}

func redactValue(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k + "=***"
}

// resolveVars evaluates vars in dependency order: a var may be computed from others (the chart
// values of one Cilium version from `ciliumVersion`), never from step results. A var computed
// from a secret is a secret too: its value is masked wherever it shows.
func (c *compiler) resolveVars(plan *Plan, decls []varDecl) bool {
	before := len(c.diags)
	c.varNames = map[string]bool{}
	byName := map[string]*varDecl{}
	names := make([]string, len(decls))
	for i := range decls {
		c.varNames[decls[i].Name] = true
		byName[decls[i].Name] = &decls[i]
		names[i] = decls[i].Name
	}
	scope := &Scope{Vars: c.varNames, InVars: true, Incomplete: c.file.Incomplete(), compiler: c.exprs}
	deps := map[string][]string{}
	for _, v := range decls {
		node := v.Value
		switch {
		case v.given != nil && v.fromFlag:
			continue // typed text: it reads no other var
		case v.given != nil:
			node = v.given
		}
		pc := &paramCompiler{file: v.File, scope: scope, diags: &c.diags, lines: c.file.Lines[v.File]}
		walkTemplates(node, func(n *yaml.Node) {
			t := pc.template(n, fieldOpts{})
			if t == nil {
				return
			}
			for _, e := range t.Exprs() {
				deps[v.Name] = append(deps[v.Name], e.reads.vars...)
			}
		})
	}
	if c.diags.ErrorsSince(before) {
		return false
	}
	order, cycle := topoSort(names, deps)
	if cycle != nil {
		v := byName[cycle[0]]
		c.add(model.At(v.File, v.Value, "", "vars depend on each other in a cycle: %s", strings.Join(cycle, " -> ")))
		return false
	}
	plan.Vars = make(map[string]any, len(order))
	tainted := map[string]bool{}
	env := &Env{Vars: plan.Vars, mask: plan.masker, secretVars: tainted}
	scope.Values = plan.Vars // filled in dependency order: a var sees those it reads
	var derivedSecrets []string
	broken := map[string]bool{}
	for _, name := range order {
		v := byName[name]
		// A var computed from one that failed is not reported again: the cause was, once.
		if slices.ContainsFunc(deps[name], func(dep string) bool { return broken[dep] }) {
			broken[name] = true
			continue
		}
		value, ok := c.varValue(v, scope, env)
		if !ok {
			broken[name] = true
			continue
		}
		plan.Vars[name] = value
		if v.secret {
			tainted[name] = true
			continue
		}
		for _, dep := range deps[name] {
			if tainted[dep] && !tainted[name] {
				tainted[name] = true
				plan.Secrets = append(plan.Secrets, name)
				// A text computed from a secret (a token in a URL, its base64) is masked
				// whole; a list or map is masked where a secret shows inside it.
				if s, ok := value.(string); ok {
					derivedSecrets = append(derivedSecrets, s)
				}
			}
		}
	}
	plan.masker.Add(derivedSecrets...)
	plan.secretVars = tainted
	plan.VarOrder = names
	return !c.diags.ErrorsSince(before)
}

// varValue computes a var: its override coerced to the declared type, or its declaration.
func (c *compiler) varValue(v *varDecl, scope *Scope, env *Env) (any, bool) {
	pc := &paramCompiler{file: v.File, scope: scope, vars: env, diags: &c.diags, lines: c.file.Lines[v.File]}
	if v.given == nil {
		p := pc.compile(v.Value, anyType, fieldOpts{path: "vars." + v.Name})
		if p == nil {
			return nil, false
		}
		return p.value.Interface(), true
	}
	// The declared type: the declaration's own, or for a computed var what it computes.
	declared := kindOfNode(v.Value)
	if declared == kindComputed {
		var ignore Diagnostics
		probe := &paramCompiler{file: v.File, scope: scope, vars: env, diags: &ignore}
		declared = kindAny
		if p := probe.compile(v.Value, anyType, fieldOpts{path: "vars." + v.Name}); p != nil {
			declared = kindOfValue(p.value.Interface())
		}
	}
	value, err := coerce(v.given, declared, v.fromFlag)
	if err == "" && declared == kindList {
		value, err = coerceItems(value, itemKindOf(v.Value))
	}
	if err != "" {
		where := fmt.Sprintf("%s:%d:%d", v.File, v.Value.Line, v.Value.Column)
		if v.fromFlag {
			c.add(Diagnostic{File: v.givenBy, Msg: fmt.Sprintf("%q for %s, declared as %s (%s): %s", v.given.Value, v.Name, declared, where, err)})
		} else {
			c.add(model.At(v.givenBy, v.given, "", "vars.%s is declared as %s (%s): %s", v.Name, declared, where, err))
		}
		return nil, false
	}
	if !v.fromFlag {
		pc.file = v.givenBy
		p := pc.compile(value, anyType, fieldOpts{path: "vars." + v.Name})
		if p == nil {
			return nil, false
		}
		return p.value.Interface(), true
	}
	var out any
	if err := value.Decode(&out); err != nil {
		c.add(Diagnostic{File: v.givenBy, Msg: err.Error()})
		return nil, false
	}
	return out, true
}

// valueKind is a declared var's type, as its YAML says.
type valueKind string

const (
	kindAny      valueKind = "any value"
	kindComputed valueKind = "computed"
	kindString   valueKind = "a string"
	kindInt      valueKind = "an integer"
	kindFloat    valueKind = "a number"
	kindBool     valueKind = "true or false"
	kindList     valueKind = "a list"
	kindMap      valueKind = "a mapping"
)

func kindOfNode(n *yaml.Node) valueKind {
	n = model.Resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		return kindList
	case yaml.MappingNode:
		return kindMap
	}
	switch n.Tag {
	case "!!str":
		if HasTemplate(n.Value) {
			return kindComputed
		}
		return kindString
	case "!!int":
		return kindInt
	case "!!float":
		return kindFloat
	case "!!bool":
		return kindBool
	}
	return kindAny
}

func kindOfValue(v any) valueKind {
	switch v.(type) {
	case string:
		return kindString
	case int, int64:
		return kindInt
	case float64:
		return kindFloat
	case bool:
		return kindBool
	case []any:
		return kindList
	case map[string]any:
		return kindMap
	}
	return kindAny
}

// coerce turns an override into a node of the declared kind. A string keeps the exact text
// typed ("1.10" stays "1.10"); a list takes [a, b] or a,b; anything that does not fit is an
// error naming what was expected.
func coerce(given *yaml.Node, want valueKind, fromFlag bool) (*yaml.Node, string) {
	given = model.Resolve(given)
	text := given.Value
	scalar := func(tag string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text, Line: given.Line, Column: given.Column}
	}
	switch want {
	case kindString:
		if given.Kind != yaml.ScalarNode {
			return nil, "expected a string, got " + model.Describe(given)
		}
		return scalar("!!str"), ""
	case kindInt:
		if given.Kind == yaml.ScalarNode {
			if _, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64); err == nil {
				return scalar("!!int"), ""
			}
		}
		return nil, "expected an integer, got " + model.Describe(given)
	case kindFloat:
		if given.Kind == yaml.ScalarNode {
			if _, err := strconv.ParseFloat(text, 64); err == nil {
				return scalar("!!float"), ""
			}
		}
		return nil, "expected a number, got " + model.Describe(given)
	case kindBool:
		if given.Kind == yaml.ScalarNode {
			if b, ok := boolText(text); ok {
				n := scalar("!!bool")
				n.Value = strconv.FormatBool(b)
				return n, ""
			}
		}
		return nil, "expected true or false, got " + model.Describe(given)
	case kindList:
		if given.Kind == yaml.SequenceNode {
			return given, ""
		}
		if given.Kind == yaml.ScalarNode && fromFlag {
			if strings.HasPrefix(strings.TrimSpace(text), "[") {
				return parseFlow(text, yaml.SequenceNode, "a list")
			}
			list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			if text != "" {
				for _, item := range strings.Split(text, ",") {
					list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(item)})
				}
			}
			return list, ""
		}
		return nil, "expected a list ([a, b] or a,b), got " + model.Describe(given)
	case kindMap:
		if given.Kind == yaml.MappingNode {
			return given, ""
		}
		if given.Kind == yaml.ScalarNode && fromFlag {
			return parseFlow(text, yaml.MappingNode, "a mapping ({key: value})")
		}
		return nil, "expected a mapping, got " + model.Describe(given)
	}
	if fromFlag {
		return overrideNode(text), ""
	}
	return given, ""
}

// boolText is the one rule for a bool written as text, in --var, vars files and parameters
// alike: true or false, in any case. Not 1, yes or on: YAML 1.2 reads those as other things.
func boolText(text string) (bool, bool) {
	switch strings.ToLower(text) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// itemKindOf is the kind every item of a declared list shares (a list of strings), or
// kindAny when they differ or there are none.
func itemKindOf(decl *yaml.Node) valueKind {
	decl = model.Resolve(decl)
	if decl.Kind != yaml.SequenceNode || len(decl.Content) == 0 {
		return kindAny
	}
	kind := kindOfNode(decl.Content[0])
	for _, item := range decl.Content[1:] {
		if kindOfNode(item) != kind {
			return kindAny
		}
	}
	switch kind {
	case kindString, kindInt, kindFloat, kindBool:
		return kind
	}
	return kindAny
}

// coerceItems gives each item of a list the kind the declared list's items share, by the
// same rule as a whole value: [1, 2] for a list of strings is ["1", "2"].
func coerceItems(list *yaml.Node, kind valueKind) (*yaml.Node, string) {
	if kind == kindAny || list.Kind != yaml.SequenceNode {
		return list, ""
	}
	out := *list
	out.Content = make([]*yaml.Node, len(list.Content))
	for i, item := range list.Content {
		n, err := coerce(item, kind, false)
		if err != "" {
			return nil, fmt.Sprintf("item %d: %s", i, err)
		}
		out.Content[i] = n
	}
	return &out, ""
}

func parseFlow(text string, kind yaml.Kind, what string) (*yaml.Node, string) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != kind {
		return nil, "expected " + what + ", got " + strconv.Quote(text)
	}
	return doc.Content[0], ""
}

// overrideNode reads a --var for a var of no particular type (declared empty): numbers,
// booleans and flow lists or maps as YAML; anything else as the exact string typed.
func overrideNode(v string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err == nil && len(doc.Content) == 1 && !strings.Contains(v, "\n") {
		if n := doc.Content[0]; n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return n
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

func walkTemplates(n *yaml.Node, fn func(*yaml.Node)) {
	n = model.Resolve(n)
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
