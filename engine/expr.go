package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Env is what an expression sees at run time. A struct (not a map) so that the type checker
// knows every top-level name and evaluation needs no map building per step.
type Env struct {
	Vars    map[string]any `expr:"vars"`
	Steps   map[string]any `expr:"steps"`
	Item    any            `expr:"item"`
	Index   int            `expr:"index"`
	Outputs map[string]any `expr:"outputs"`
	// Object is the Kubernetes object a step examines (waitFor's condition), only in
	// parameters that declare it.
	Object any `expr:"object"`
}

// Scope is what an expression may refer to where it stands in the playbook. The type checker
// alone cannot know it: vars and step ids are map keys to it.
type Scope struct {
	Vars    map[string]bool
	Steps   map[string]StepRef
	Loop    bool     // item and index are defined
	Outputs []string // non-nil inside retry.until: the current step's outputs
	InVars  bool     // a var's value: only other vars exist yet
	Object  bool     // `object` is defined
}

// StepRef is what an expression can know about another step before anything runs.
type StepRef struct {
	Outputs []string // declared by its plugin
	Looped  bool     // outputs is then a list, one entry per item
}

// Expr is a compiled, checked expression.
type Expr struct {
	Source  string
	program *vm.Program
	// Runtime reports whether the value depends on what steps produce (steps, item, index,
	// outputs), which `plan` cannot know.
	Runtime bool
	VarRefs []string
}

// exprError is a problem at a rune offset inside an expression's source.
type exprError struct {
	offset     int
	msg        string
	suggestion string
}

func (e *exprError) Error() string { return e.msg }

var unknownNameRE = regexp.MustCompile(`unknown name (\w+)`)

var hyphenatedStepRE = regexp.MustCompile(`\bsteps\.([A-Za-z][\w]*(?:-[\w]+)+)`)

func compileExpr(source string, scope *Scope, asBool bool) (*Expr, *exprError) {
	// `steps.make-it` parses as a subtraction; say what to write instead of "unknown name it".
	for _, m := range hyphenatedStepRE.FindAllStringSubmatchIndex(source, -1) {
		if _, known := scope.Steps[source[m[2]:m[3]]]; known {
			return nil, &exprError{offset: len([]rune(source[:m[0]])),
				msg: fmt.Sprintf("step ids with \"-\" need brackets in expressions: write steps[%q]", source[m[2]:m[3]])}
		}
	}
	tree, err := parser.Parse(source)
	if err != nil {
		return nil, fromExprLangError(err, scope)
	}
	check := &scopeChecker{scope: scope}
	ast.Walk(&tree.Node, check)
	if check.err != nil {
		return nil, check.err
	}
	opts := append([]expr.Option{expr.Env(Env{})}, helperFuncs...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	program, err := expr.Compile(source, opts...)
	if err != nil {
		return nil, fromExprLangError(err, scope)
	}
	return &Expr{Source: strings.TrimSpace(source), program: program, Runtime: check.runtime, VarRefs: check.vars}, nil
}

func fromExprLangError(err error, scope *Scope) *exprError {
	out := &exprError{msg: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		out.offset, out.msg = fe.From, fe.Message
	}
	if m := unknownNameRE.FindStringSubmatch(out.msg); m != nil {
		out.msg = fmt.Sprintf("unknown name %q in expression", m[1])
		out.suggestion = Suggest(m[1], knownTopLevelNames(scope))
	}
	return out
}

func knownTopLevelNames(scope *Scope) []string {
	names := []string{"vars", "steps", "env", "semverCompare", "semverSatisfies", "regexMatch",
		"regexFind", "regexFindAll", "regexReplace", "fromYAML", "toYAML", "fromJSON", "toJSON",
		"lines", "shellQuote", "merge", "len", "split", "trim", "lower", "upper", "join", "keys", "values"}
	if scope.Loop {
		names = append(names, "item", "index")
	}
	if scope.Outputs != nil {
		names = append(names, "outputs")
	}
	return names
}

// Eval runs a compiled expression.
func (e *Expr) Eval(env *Env) (any, error) {
	v, err := expr.Run(e.program, env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s: %s", e.Source, fe.Message)
		}
		return nil, fmt.Errorf("%s: %v", e.Source, err)
	}
	return v, nil
}

// scopeChecker finds names that exist for the type checker but not in this playbook: an
// unknown var, a step id that is not there, `item` outside a loop.
type scopeChecker struct {
	scope   *Scope
	err     *exprError
	runtime bool
	vars    []string
}

func (c *scopeChecker) fail(n ast.Node, suggestion, format string, args ...any) {
	if c.err == nil {
		c.err = &exprError{offset: n.Location().From, msg: fmt.Sprintf(format, args...), suggestion: suggestion}
	}
}

func (c *scopeChecker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if c.scope.InVars && (n.Value == "steps" || n.Value == "item" || n.Value == "index" || n.Value == "outputs") {
			c.fail(n, "", "vars cannot use steps, item, index or outputs; compute such values in a step")
			return
		}
		switch n.Value {
		case "steps":
			c.runtime = true
		case "item", "index":
			c.runtime = true
			if !c.scope.Loop {
				c.fail(n, "", "%q is only defined in a step with loop", n.Value)
			}
		case "object":
			c.runtime = true
			if !c.scope.Object {
				c.fail(n, "", "\"object\" is only defined in a parameter that examines an object (waitFor's condition)")
			}
		case "outputs":
			c.runtime = true
			if c.scope.Outputs == nil {
				c.fail(n, "", "\"outputs\" is only defined in retry.until; use steps.<id>.outputs elsewhere")
			}
		}
	case *ast.MemberNode:
		c.visitMember(n)
	}
}

func (c *scopeChecker) visitMember(n *ast.MemberNode) {
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch base := n.Node.(type) {
	case *ast.IdentifierNode:
		switch base.Value {
		case "vars":
			c.vars = append(c.vars, prop.Value)
			if !c.scope.Vars[prop.Value] {
				c.fail(n.Property, Suggest(prop.Value, sortedKeys(c.scope.Vars)), "unknown var %q", prop.Value)
			}
		case "steps":
			if _, ok := c.scope.Steps[prop.Value]; !ok {
				c.fail(n.Property, Suggest(prop.Value, sortedKeys(c.scope.Steps)), "no step has id %q", prop.Value)
			}
		case "outputs":
			if len(c.scope.Outputs) > 0 && !slices.Contains(c.scope.Outputs, prop.Value) {
				c.fail(n.Property, Suggest(prop.Value, c.scope.Outputs), "this step has no output %q (it has %v)", prop.Value, c.scope.Outputs)
			}
		}
	case *ast.MemberNode:
		if id, ok := stepsMember(base); ok && prop.Value != "outputs" && prop.Value != "status" {
			c.fail(n.Property, Suggest(prop.Value, []string{"outputs", "status"}), "steps.%s has no field %q (it has outputs and status)", id, prop.Value)
		}
	}
	// steps.<id>.outputs.<name>: check the name against what the plugin declares.
	if outer, ok := n.Node.(*ast.MemberNode); ok {
		if p, ok := outer.Property.(*ast.StringNode); ok && p.Value == "outputs" {
			if inner, ok := outer.Node.(*ast.MemberNode); ok {
				if id, ok := stepsMember(inner); ok {
					ref, known := c.scope.Steps[id]
					if known && !ref.Looped && len(ref.Outputs) > 0 && !slices.Contains(ref.Outputs, prop.Value) {
						c.fail(n.Property, Suggest(prop.Value, ref.Outputs), "step %q has no output %q (it has %v)", id, prop.Value, ref.Outputs)
					}
				}
			}
		}
	}
}

// stepsMember returns id when n is `steps.<id>`.
func stepsMember(n *ast.MemberNode) (string, bool) {
	base, ok := n.Node.(*ast.IdentifierNode)
	if !ok || base.Value != "steps" {
		return "", false
	}
	p, ok := n.Property.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return p.Value, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MarshalJSON and MarshalYAML show an expression as its source, as in `plan`.
func (e *Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.Source) }
func (e *Expr) MarshalYAML() (any, error)    { return e.Source, nil }
