package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// buildSteps checks every step and compiles what it holds. A step sees the ids of the steps
// before it; finally steps see every main step.
func (l *loader) buildSteps(pb *Playbook) {
	varScope := map[string]bool{}
	for _, name := range pb.VarOrder {
		varScope[name] = true
	}
	known := map[string]StepRef{}
	names := map[string]*yaml.Node{}
	ids := map[string]*yaml.Node{}
	for _, decl := range l.steps {
		s := l.buildStep(pb, decl, varScope, known)
		if s == nil {
			continue
		}
		if prev, dup := names[s.Name]; dup {
			l.errorf(decl.file, valueNode(decl.node, "name"), "", "duplicate step name %q (first at line %d); step names must be unique", s.Name, prev.Line)
		}
		names[s.Name] = valueNode(decl.node, "name")
		if s.ID != "" {
			if prev, dup := ids[s.ID]; dup {
				l.errorf(decl.file, valueNode(decl.node, "id"), "", "duplicate step id %q (first at line %d)", s.ID, prev.Line)
			}
			ids[s.ID] = valueNode(decl.node, "id")
			known[s.ID] = StepRef{Outputs: outputNames(s.plugin), Looped: s.Loop != nil}
		}
		if decl.finally {
			pb.Finally = append(pb.Finally, s)
		} else {
			pb.Steps = append(pb.Steps, s)
		}
	}
}

func outputNames(p plugin) []string {
	var names []string
	for _, o := range p.outputs() {
		names = append(names, o.Name)
	}
	return names
}

func (l *loader) buildStep(pb *Playbook, decl stepDecl, varScope map[string]bool, known map[string]StepRef) *Step {
	n := resolveAlias(decl.node)
	if n.Kind != yaml.MappingNode {
		l.errorf(decl.file, n, "", "a step must be a mapping with name and one step type, got %s", describeNode(n))
		return nil
	}
	specNode := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	var typeKeys []*yaml.Node
	var paramsNode *yaml.Node
	unknownKeys := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case slices.Contains(stepKeys, k.Value):
			specNode.Content = append(specNode.Content, k, n.Content[i+1])
		case isPlugin(k.Value):
			typeKeys = append(typeKeys, k)
			paramsNode = n.Content[i+1]
		case k.Value == "until":
			unknownKeys++
			l.errorf(decl.file, k, "", "until belongs inside retry: write retry: {attempts: N, until: ...}")
		default:
			unknownKeys++
			l.errorf(decl.file, k, Suggest(k.Value, append(append([]string{}, stepKeys...), pluginNames()...)),
				"unknown key %q in step (step keys: %s; or a step type: playbook steps lists them)", k.Value, strings.Join(stepKeys, ", "))
		}
	}
	scope := &Scope{Vars: varScope, Steps: copyRefs(known)}
	d := &decoder{file: decl.file, scope: scope, cache: map[*yaml.Node]any{}, env: &Env{Vars: pb.Vars}}
	d.noRequired = unknownKeys > 0
	var spec stepSpec
	d.decode(specNode, reflect.ValueOf(&spec).Elem(), fieldOpts{path: "step"})
	s := &Step{Name: spec.Name, ID: spec.ID, File: decl.file, Line: n.Line, Col: n.Column, Parallel: spec.Parallel,
		Timeout: spec.Timeout, IgnoreErrors: spec.IgnoreErrors, Finally: decl.finally, Loop: spec.Loop, cache: d.cache}
	label := fmt.Sprintf("step %q", spec.Name)
	switch len(typeKeys) {
	case 0:
		if unknownKeys > 0 {
			break // an unknown key is most likely the misspelled type: said already
		}
		l.errorf(decl.file, n, "", "%s has no step type: add exactly one (playbook steps lists them)", label)
	case 1:
		s.Type = typeKeys[0].Value
		s.plugin, _ = lookupPlugin(s.Type)
	default:
		l.errorf(decl.file, typeKeys[1], "", "%s has two step types (%s and %s): write one step for each", label, typeKeys[0].Value, typeKeys[1].Value)
	}
	if spec.ID != "" && !idPattern.MatchString(spec.ID) {
		l.errorf(decl.file, valueNode(n, "id"), "", "id %q must start with a letter and hold only letters, digits, - and _", spec.ID)
	}
	if spec.Parallel < 0 || (spec.Parallel > 0 && spec.Loop == nil) {
		l.errorf(decl.file, valueNode(n, "parallel"), "", "parallel must be a positive number and goes with loop")
	}
	d.noRequired = false
	if len(d.diags) > 0 || s.plugin == nil {
		l.diags = append(l.diags, d.diags...)
		return nil
	}
	scope.Loop = spec.Loop != nil
	l.checkLoop(d, spec.Loop)
	if spec.When != nil {
		s.When = d.bareExpr(spec.When, fieldOpts{path: "when", asBool: true})
	}
	if spec.Retry != nil {
		retryScope := *scope
		retryScope.Outputs = append([]string{}, outputNames(s.plugin)...)
		d.scope = &retryScope
		var r Retry
		d.decode(spec.Retry, reflect.ValueOf(&r).Elem(), fieldOpts{path: "retry"})
		if r.Attempts < 1 && len(d.diags) == 0 {
			d.errorf(valueNode(spec.Retry, "attempts"), "", "retry.attempts must be at least 1")
		}
		s.Retry = &r
		d.scope = scope
	}
	s.params, s.scope = paramsNode, scope
	l.checkParams(d, s, typeKeys[0])
	l.diags = append(l.diags, d.diags...)
	return s
}

func copyRefs(m map[string]StepRef) map[string]StepRef {
	out := make(map[string]StepRef, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isPlugin(name string) bool {
	_, ok := lookupPlugin(name)
	return ok
}

// checkLoop rejects a loop that can never be a list, and evaluates one that depends on vars
// only, so a wrong type shows now and not mid-run.
func (l *loader) checkLoop(d *decoder, loop *yaml.Node) {
	if loop == nil {
		return
	}
	loop = resolveAlias(loop)
	switch {
	case loop.Kind == yaml.SequenceNode:
		d.value(loop, "loop")
	case d.isTemplate(loop):
		outer := d.scope
		d.scope = &Scope{Vars: outer.Vars, Steps: outer.Steps}
		v, ok := d.renderTemplate(loop, fieldOpts{path: "loop"})
		d.scope = outer
		if ok && !isList(v) {
			d.errorf(loop, "", "loop: expected a list, but %s gives %s", strings.TrimSpace(loop.Value), describeValue(v))
		}
	default:
		d.errorf(loop, "", "loop: expected a list or a ${{ }} expression that gives one, got %s", describeNode(loop))
	}
}

func describeValue(v any) string {
	if v == nil {
		return "nothing"
	}
	return fmt.Sprintf("%T %s", v, Stringify(v))
}

// checkParams decodes the step's parameters at load time. Parameters that depend on step
// results are checked again when the step runs.
func (l *loader) checkParams(d *decoder, s *Step, typeKey *yaml.Node) {
	params := reflect.New(s.plugin.paramsType())
	node := s.params
	if node == nil || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		node = &yaml.Node{Kind: yaml.MappingNode, Line: typeKey.Line, Column: typeKey.Column}
		s.params = node
	}
	before := len(d.diags)
	d.decode(node, params.Elem(), fieldOpts{path: s.Type})
	if len(d.diags) > before {
		return
	}
	// Parameters that wait for step results are zero here. Validate needs them all, so it
	// waits for the run; Check (a chart's values against the chart) works on what is known.
	if !d.deferred {
		if err := s.plugin.validate(params.Interface()); err != nil {
			d.diags = append(d.diags, validationDiagnostics(d.file, node, s.Type, err)...)
			return
		}
	}
	if err := s.plugin.check(params.Interface(), filepath.Dir(d.file)); err != nil {
		d.diags = append(d.diags, validationDiagnostics(d.file, node, s.Type, err)...)
		return
	}
	s.partial = params.Interface()
	if !d.deferred {
		s.static = s.partial
	}
}

// validationDiagnostics places each problem of a validation error (errors.Join of several
// is allowed) in the playbook.
func validationDiagnostics(file string, params *yaml.Node, typ string, err error) Diagnostics {
	var out Diagnostics
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, validationDiagnostics(file, params, typ, e)...)
		}
		return out
	}
	return Diagnostics{validationDiagnostic(file, params, typ, err)}
}

func validationDiagnostic(file string, params *yaml.Node, typ string, err error) Diagnostic {
	var d Diagnostic
	if errors.As(err, &d) {
		return d // the plugin knows the place itself (a line in a values file)
	}
	var fe *FieldError
	at := params
	msg := typ + ": " + err.Error()
	if errors.As(err, &fe) {
		at = nodeAtPath(params, fe.Field)
		msg = typ + "." + fe.Field + ": " + fe.Msg
	}
	return Diagnostic{File: file, Line: at.Line, Col: at.Column, Msg: msg}
}

var pathSegmentRE = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// nodeAtPath finds the node a field path like "values.debug.enabled" or "set[2]" names, or
// the deepest one that exists on the way.
func nodeAtPath(n *yaml.Node, path string) *yaml.Node {
	n = resolveAlias(n)
	for _, seg := range pathSegmentRE.FindAllString(path, -1) {
		var next *yaml.Node
		switch {
		case strings.HasPrefix(seg, "[") && n.Kind == yaml.SequenceNode:
			i, _ := strconv.Atoi(strings.Trim(seg, "[]"))
			if i < len(n.Content) {
				next = n.Content[i]
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
					if i+1 < len(n.Content) && resolveAlias(next).Kind == yaml.ScalarNode {
						next = n.Content[i] // point at the key of a leaf: that is what is wrong
					}
				}
			}
		}
		if next == nil {
			return n
		}
		n = resolveAlias(next)
	}
	return n
}
