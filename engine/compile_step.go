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

	"github.com/kindlab/playbook/model"
	"go.yaml.in/yaml/v3"
)

var idPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)

// steps compiles every step. A main step sees the ids of the steps before it; a finally step
// sees every main step and the finally steps before it.
func (c *compiler) steps(plan *Plan) {
	c.refs = &stepRefs{byID: map[string]*StepRef{}}
	names := map[string]*yaml.Node{}
	ids := map[string]*yaml.Node{}
	all := append(append([]model.Step{}, c.file.Steps...), c.file.Finally...)
	for order := range all {
		ms := &all[order]
		s := c.step(plan, ms, order)
		if s == nil {
			c.knownButInvalid(ms, ids, order)
			continue
		}
		if prev, dup := names[s.Name]; dup {
			c.add(model.At(ms.File, ms.Value("name"), "", "duplicate step name %q (first at line %d); step names must be unique", s.Name, prev.Line))
		}
		names[s.Name] = ms.Value("name")
		if s.ID != "" {
			if prev, dup := ids[s.ID]; dup {
				c.add(model.At(ms.File, ms.Value("id"), "", "duplicate step id %q (first at line %d)", s.ID, prev.Line))
			} else {
				c.refs.byID[s.ID] = &StepRef{Outputs: outputNames(s.plugin), Keys: s.outputKeys, Looped: s.loop != nil, HasWhen: s.When != nil, order: order}
			}
			ids[s.ID] = ms.Value("id")
		}
		if s.Finally {
			plan.Finally = append(plan.Finally, s)
		} else {
			plan.Steps = append(plan.Steps, s)
		}
	}
}

// knownButInvalid keeps the id of a step whose own keys were wrong, as HCL keeps a known but
// invalid block: the steps that read it get no "no step has id" after the real error. Its
// outputs are checked when its type is known.
func (c *compiler) knownButInvalid(ms *model.Step, ids map[string]*yaml.Node, order int) {
	n := model.Resolve(ms.Value("id"))
	if n == nil || n.Kind != yaml.ScalarNode || !idPattern.MatchString(n.Value) || ids[n.Value] != nil {
		return
	}
	ref := &StepRef{order: order}
	for _, e := range ms.Others {
		if p, ok := lookupPlugin(e.Key.Value); ok {
			ref.Outputs = outputNames(p)
		}
	}
	c.refs.byID[n.Value], ids[n.Value] = ref, n
}

func outputNames(p plugin) []string {
	var names []string
	for _, o := range p.outputs() {
		names = append(names, o.Name)
	}
	return names
}

// stepCompiler compiles one step.
type stepCompiler struct {
	*compiler
	plan      *Plan
	ms        *model.Step
	scope     *Scope
	pc        *paramCompiler
	seenExprs []exprAt // every expression of the step, where it was written
}

type exprAt struct {
	n *yaml.Node
	e *Expr
}

func (c *compiler) step(plan *Plan, ms *model.Step, order int) *Step {
	sc := &stepCompiler{compiler: c, plan: plan, ms: ms}
	before := len(c.diags)
	typeKey, params := sc.stepType()
	s := &Step{File: ms.File, Line: ms.Node.Line, Col: ms.Node.Column, Finally: ms.Finally}
	sc.scope = &Scope{Vars: c.varNames, Steps: c.refs, Before: order, Loop: ms.Value("loop") != nil,
		Values: plan.Vars, Incomplete: c.file.Incomplete(), compiler: c.exprs}
	sc.pc = &paramCompiler{file: ms.File, scope: sc.scope, vars: plan.env(nil), diags: &c.diags, lines: c.file.Lines[ms.File],
		seen: func(n *yaml.Node, e *Expr) {
			sc.seenExprs = append(sc.seenExprs, exprAt{n, e})
			s.reads.add(e.reads)
		}}
	sc.name(s, typeKey == nil)
	if id := ms.Value("id"); id != nil {
		s.ID = sc.text(id, "step.id")
		if s.ID != "" && !idPattern.MatchString(s.ID) {
			c.add(model.At(ms.File, id, "", "id %q must start with a letter and hold only letters, digits, - and _", s.ID))
		}
	}
	if typeKey == nil {
		return nil
	}
	s.Type = typeKey.Value
	s.plugin, _ = lookupPlugin(s.Type)
	// An assert proves something unless it says it does not (a guard on the vars).
	s.Proof = s.Type == "assert"
	if loop := ms.Value("loop"); loop != nil {
		s.loop = sc.loop(loop)
	}
	if p := ms.Value("parallel"); p != nil {
		if v, ok := sc.known(p, reflect.TypeOf(0), "step.parallel"); ok {
			s.Parallel = v.(int)
			if s.Parallel < 1 || ms.Value("loop") == nil {
				c.add(model.At(ms.File, p, "", "parallel must be a positive number and goes with loop"))
			}
		}
	}
	if t := ms.Value("timeout"); t != nil {
		if v, ok := sc.known(t, durationType, "step.timeout"); ok {
			s.Timeout = v.(Duration).Duration
		}
	}
	if ie := ms.Value("ignoreErrors"); ie != nil {
		if v, ok := sc.known(ie, reflect.TypeOf(false), "step.ignoreErrors"); ok {
			s.IgnoreErrors = v.(bool)
		}
	}
	if pr := ms.Value("proof"); pr != nil {
		if v, ok := sc.known(pr, reflect.TypeOf(false), "step.proof"); ok {
			s.Proof = v.(bool)
		}
	}
	if w := ms.Value("when"); w != nil {
		s.When = sc.pc.bareExpr(model.Resolve(w), fieldOpts{path: "when", asBool: true})
	}
	if r := ms.Value("retry"); r != nil {
		s.Retry = sc.retry(r, s.plugin)
	}
	// The parameters are checked even when a common key was wrong: every problem at once.
	commonFailed := c.diags.ErrorsSince(before)
	s.params, s.paramsNode = sc.params(s, typeKey, params)
	if s.params == nil || commonFailed {
		return nil
	}
	sc.warnUnguarded(s)
	return s
}

// stepType finds the one key that names a step type; the other unknown keys are errors.
func (sc *stepCompiler) stepType() (*yaml.Node, *yaml.Node) {
	ms := sc.ms
	var typeKeys []model.Entry
	unknown := 0
	for _, e := range ms.Others {
		k := e.Key
		switch {
		case isPlugin(k.Value):
			typeKeys = append(typeKeys, e)
		case k.Value == "until":
			unknown++
			sc.add(model.At(ms.File, k, "", "until belongs inside retry: write retry: {attempts: N, until: ...}"))
		case k.Value == "with_items" || k.Value == "with_list" || k.Value == "loop_control":
			unknown++
			sc.add(model.At(ms.File, k, "loop", "unknown key %q in step: playbook loops with loop: [a, b] (or loop: \"${{ vars.list }}\"), and the item is ${{ item }}", k.Value))
		default:
			unknown++
			sc.add(model.At(ms.File, k, Suggest(k.Value, append(append([]string{}, model.StepKeys...), pluginNames()...)),
				"unknown key %q in step (step keys: %s; or a step type: playbook steps lists them)", k.Value, strings.Join(model.StepKeys, ", ")))
		}
	}
	if ms.Value("name") == nil && unknown == 0 {
		sc.add(model.At(ms.File, ms.Node, "", "step: missing required key \"name\""))
	}
	label := "step"
	if n := model.Resolve(ms.Value("name")); n != nil && n.Kind == yaml.ScalarNode {
		label = fmt.Sprintf("step %q", n.Value)
	}
	switch len(typeKeys) {
	case 0:
		if unknown == 0 && ms.Value("name") != nil {
			sc.add(model.At(ms.File, ms.Node, "", "%s has no step type: add exactly one (playbook steps lists them)", label))
		}
		return nil, nil
	case 1:
		return typeKeys[0].Key, typeKeys[0].Value
	}
	sc.add(model.At(ms.File, typeKeys[1].Key, "", "%s has two step types (%s and %s): write one step for each", label, typeKeys[0].Key.Value, typeKeys[1].Key.Value))
	return nil, nil
}

// name reads the step's name: text, vars, and in a looped step item and index, which are
// filled in per item.
func (sc *stepCompiler) name(s *Step, quiet bool) {
	n := model.Resolve(sc.ms.Value("name"))
	if n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode {
		sc.add(model.At(sc.ms.File, n, "", "step.name: expected a string, got %s", model.Describe(n)))
		return
	}
	s.Name = n.Value
	if !isTemplateNode(n, fieldOpts{}) {
		return
	}
	t := sc.pc.template(n, fieldOpts{})
	if t == nil {
		return
	}
	for _, e := range t.Exprs() {
		if len(e.reads.steps) > 0 || e.reads.anyStep {
			sc.add(model.At(sc.ms.File, n, "", "step.name: a name can use vars, and item or index in a step with loop, but not steps: it must be known before the step runs"))
			return
		}
	}
	if t.Runtime() {
		s.itemName = t
		return
	}
	if v, err := t.Render(sc.pc.vars); err != nil {
		sc.add(model.At(sc.ms.File, n, "", "step.name: %v", err))
	} else {
		s.Name = Stringify(v)
	}
}

// text reads a plain string key.
func (sc *stepCompiler) text(n *yaml.Node, path string) string {
	n = model.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		sc.add(model.At(sc.ms.File, n, "", "%s: expected a string, got %s", path, model.Describe(n)))
		return ""
	}
	return n.Value
}

// known decodes a step-level key that must be known before the step runs: from the file or
// vars, never from step results.
func (sc *stepCompiler) known(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	p := sc.pc.compile(n, t, fieldOpts{path: path})
	if p == nil {
		return nil, false
	}
	if !p.known() {
		sc.add(model.At(sc.ms.File, n, "", "%s must be known before the step runs: it can use vars, not steps, item or index", path))
		return nil, false
	}
	return p.value.Interface(), true
}

// loop compiles the list a step loops over: a YAML list, or an expression that gives one.
// One that needs only vars is evaluated now, so a wrong type shows at load.
func (sc *stepCompiler) loop(n *yaml.Node) *param {
	n = model.Resolve(n)
	outer := sc.pc.scope
	// item and index are the loop's own: the list cannot use them.
	sc.pc.scope = &Scope{Vars: outer.Vars, Steps: outer.Steps, Before: outer.Before, Values: outer.Values, Incomplete: outer.Incomplete, compiler: outer.compiler}
	defer func() { sc.pc.scope = outer }()
	switch {
	case n.Kind == yaml.SequenceNode:
	case isTemplateNode(n, fieldOpts{}):
	default:
		sc.add(model.At(sc.ms.File, n, "", "loop: expected a list or a ${{ }} expression that gives one, got %s", model.Describe(n)))
		return nil
	}
	p := sc.pc.compile(n, anyType, fieldOpts{path: "loop"})
	if p == nil {
		return nil
	}
	if p.known() && !isList(p.value.Interface()) {
		sc.add(model.At(sc.ms.File, n, "", "loop: expected a list, but %s gives %s", strings.TrimSpace(n.Value), describeValue(sc.pc.vars.masker(), p.value.Interface())))
		return nil
	}
	return p
}

func (sc *stepCompiler) retry(n *yaml.Node, pl plugin) *Retry {
	outer := sc.pc.scope
	retryScope := *outer
	retryScope.Outputs = append([]string{}, outputNames(pl)...)
	sc.pc.scope = &retryScope
	defer func() { sc.pc.scope = outer }()
	p := sc.pc.compile(n, reflect.TypeOf(Retry{}), fieldOpts{path: "retry"})
	if p == nil {
		return nil
	}
	if !p.known() {
		sc.add(model.At(sc.ms.File, n, "", "retry must be known before the step runs: it can use vars, not steps, item or index"))
		return nil
	}
	r := p.value.Interface().(Retry)
	if r.Attempts < 1 {
		sc.add(model.At(sc.ms.File, valueNode(n, "attempts"), "", "retry.attempts must be at least 1"))
		return nil
	}
	return &r
}

// params decodes the step type's parameters. Validate needs them all, so it runs now when
// they are known, else when the step runs; Check works on what is known now (the rest zero).
func (sc *stepCompiler) params(s *Step, typeKey, node *yaml.Node) (*param, *yaml.Node) {
	if model.IsNull(node) {
		node = &yaml.Node{Kind: yaml.MappingNode, Line: typeKey.Line, Column: typeKey.Column}
	}
	node = model.Resolve(node)
	p := sc.pc.compile(node, s.plugin.paramsType(), fieldOpts{path: s.Type})
	if p == nil {
		return nil, node
	}
	// A step whose when the vars already decide against never runs here: its type's own
	// rules (Validate, Check) are for steps that can run. A kindLoad of no images, skipped
	// when the list is empty, is no mistake.
	if s.When != nil && !s.When.Runtime {
		if v, err := s.When.Eval(sc.pc.vars); err == nil && v == false {
			return p, node
		}
	}
	partial := pointerTo(p.partial())
	if p.known() {
		if err := s.plugin.validate(partial); err != nil {
			sc.diags = append(sc.diags, validationDiagnostics(sc.ms.File, node, s.Type, err)...)
			return nil, node
		}
	}
	if err := s.plugin.check(partial, filepath.Dir(sc.ms.File)); err != nil {
		sc.diags = append(sc.diags, validationDiagnostics(sc.ms.File, node, s.Type, err)...)
		return nil, node
	}
	s.outputKeys = s.plugin.outputKeys(partial)
	return p, node
}

// warnUnguarded warns where a step reads the outputs of a step that has a when, without
// making sure it ran: the read fails at run time whenever that step is skipped.
func (sc *stepCompiler) warnUnguarded(s *Step) {
	var checked []string
	if s.When != nil {
		checked = s.When.reads.statuses
	}
	warned := map[string]bool{}
	for _, x := range sc.seenExprs {
		for _, id := range x.e.reads.unguarded {
			if slices.Contains(checked, id) || slices.Contains(x.e.reads.statuses, id) || warned[id] {
				continue
			}
			warned[id] = true
			d := model.At(sc.ms.File, x.n, "", "step %q has a when and may be skipped, which leaves no outputs to read here: add when: steps[%q].status == 'succeeded' to this step, or give a default (?? 'value')", id, id)
			d.Severity = model.Warning
			sc.add(d)
		}
	}
}

func isPlugin(name string) bool {
	_, ok := lookupPlugin(name)
	return ok
}

func valueNode(mapping *yaml.Node, key string) *yaml.Node {
	mapping = model.Resolve(mapping)
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	return mapping
}

// partial is the value with what waits for step results left zero: what Check and the plan
// hooks of a step type see before anything runs.
func (p *param) partial() reflect.Value {
	if p.known() {
		return p.value
	}
	if p.tmpl != nil {
		return reflect.Zero(p.typ)
	}
	v := reflect.New(p.typ).Elem()
	switch p.typ.Kind() {
	case reflect.Struct:
		for _, f := range p.fields {
			setValue(v.FieldByIndex(f.index), f.p.partial())
		}
	case reflect.Pointer:
		v = reflect.New(p.typ.Elem())
		setValue(v.Elem(), p.items[0].partial())
	case reflect.Slice:
		v = reflect.MakeSlice(p.typ, len(p.items), len(p.items))
		for i, item := range p.items {
			setValue(v.Index(i), item.partial())
		}
	case reflect.Map:
		v = reflect.MakeMapWithSize(p.typ, len(p.items))
		for i, item := range p.items {
			if iv := item.partial(); iv.IsValid() {
				v.SetMapIndex(reflect.ValueOf(p.keys[i]).Convert(p.typ.Key()), iv)
			}
		}
	}
	return v
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
	n = model.Resolve(n)
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
					if i+1 < len(n.Content) && model.Resolve(next).Kind == yaml.ScalarNode {
						next = n.Content[i] // point at the key of a leaf: that is what is wrong
					}
				}
			}
		}
		if next == nil {
			return n
		}
		n = model.Resolve(next)
	}
	return n
}
