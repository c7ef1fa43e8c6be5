package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
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

	// mask learns every text an expression computes from a secret (secretVars, or an item
	// that holds one): a value computed from a secret is a secret.
	mask       *Masker
	secretVars map[string]bool
}

func (env *Env) masker() *Masker {
	if env == nil {
		return nil
	}
	return env.mask
}

// readsSecret reports whether e computes its value from a secret in env.
func (e *Expr) readsSecret(env *Env) bool {
	if env == nil || env.mask == nil {
		return false
	}
	for _, name := range e.reads.vars {
		if env.secretVars[name] {
			return true
		}
	}
	return e.reads.item && env.mask.Holds(env.Item)
}

// Scope is what an expression may refer to where it stands in the playbook. The type checker
// alone cannot know it: vars and step ids are map keys to it.
type Scope struct {
	Vars  map[string]bool
	Steps *stepRefs // ids declared so far; a step sees those before it
	// Before is how many steps of Steps this expression may see (finally steps see all).
	Before  int
	Loop    bool     // item and index are defined
	Outputs []string // non-nil inside retry.until: the current step's outputs
	InVars  bool     // a var's value: only other vars exist yet
	Object  bool     // `object` is defined
	// Values are the vars' values where they are known (in steps): a key read from a var
	// that is not there is a load error.
	Values map[string]any
	// Incomplete says an include could not be read: names it might declare are not errors.
	Incomplete bool
	compiler   *exprCompiler
}

// stepRefs is every step id of a playbook in declaration order, shared by all scopes: a scope
// sees a prefix of it, so a playbook of n steps holds n refs, not n².
type stepRefs struct {
	byID map[string]*StepRef
}

func (r *stepRefs) lookup(id string, before int) (*StepRef, bool) {
	if r == nil {
		return nil, false
	}
	ref, ok := r.byID[id]
	if !ok || ref.order >= before {
		return nil, false
	}
	return ref, true
}

func (r *stepRefs) visible(before int) []string {
	if r == nil {
		return nil
	}
	var ids []string
	for id, ref := range r.byID {
		if ref.order < before {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// StepRef is what an expression can know about another step before anything runs.
type StepRef struct {
	Outputs []string // declared by its plugin
	// Keys are the keys its parameters decide for map outputs (exec's values), where known.
	Keys    map[string][]string
	Looped  bool // outputs is then a list, one entry per item
	HasWhen bool // it may be skipped, and then has no outputs
	order   int
}

// Expr is a compiled, checked expression.
type Expr struct {
	Source string
	// program is made when the expression first runs. Load parses and checks every
	// expression, and keeps none of that: a program holds its syntax tree and a location per
	// instruction, a few kilobytes each, which a 10,000-step playbook would otherwise keep
	// for steps that `validate` never runs, and `run` reaches one at a time.
	program func() (*vm.Program, error)
	// Runtime reports whether the value depends on what steps produce (steps, item, index,
	// outputs, object), which `plan` cannot know.
	Runtime bool
	reads   reads
}

// reads is what an expression refers to: a resume fingerprint covers exactly this.
type reads struct {
	vars      []string
	steps     []string
	anyStep   bool     // steps[...] with a computed id: any step may be read
	item      bool     // item or index
	statuses  []string // steps.X.status read: X is checked before its outputs are read
	unguarded []string // steps.X.outputs read without ?? or ?., where X has a when
}

func (r *reads) add(o reads) {
	r.vars = append(r.vars, o.vars...)
	r.steps = append(r.steps, o.steps...)
	r.anyStep = r.anyStep || o.anyStep
	r.item = r.item || o.item
	r.statuses = append(r.statuses, o.statuses...)
	r.unguarded = append(r.unguarded, o.unguarded...)
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

// exprCompiler holds the expr-lang configurations one load compiles with: building them
// (every function declared with its Go signature) costs more than compiling a short
// expression, so a load builds them once. Not safe for concurrent use.
type exprCompiler struct {
	plain, boolean *conf.Config
}

func newExprCompiler() *exprCompiler {
	build := func(opts ...expr.Option) *conf.Config {
		cfg := conf.CreateNew()
		for _, op := range append(exprOptions(), opts...) {
			op(cfg)
		}
		cfg.Check()
		return cfg
	}
	return &exprCompiler{plain: build(), boolean: build(expr.AsBool())}
}

// exprOptions are the environment, functions and patches every expression compiles with.
func exprOptions() []expr.Option {
	return append([]expr.Option{expr.Env(Env{}), expr.Patch(outputsPatch{})}, helperFuncs...)
}

func compileExpr(source string, scope *Scope, asBool bool) (*Expr, *exprError) {
	// `steps.make-it` parses as a subtraction; say what to write instead of "unknown name it".
	for _, m := range hyphenatedStepRE.FindAllStringSubmatchIndex(source, -1) {
		if _, known := scope.Steps.lookup(source[m[2]:m[3]], scope.Before); known {
			return nil, &exprError{offset: len([]rune(source[:m[0]])),
				msg: fmt.Sprintf("step ids with \"-\" need brackets in expressions: write steps[%q]", source[m[2]:m[3]])}
		}
	}
	c := scope.compiler
	if c == nil {
		c = newExprCompiler()
	}
	cfg := c.plain
	if asBool {
		cfg = c.boolean
	}
	tree, err := parser.ParseWithConfig(source, cfg)
	if err != nil {
		return nil, fromExprLangError(err, scope, source)
	}
	check := &scopeChecker{scope: scope}
	check.guarded = guardedMembers(tree.Node)
	ast.Walk(&tree.Node, check)
	if check.err != nil {
		return nil, check.err
	}
	strictMembers(&tree.Node)
	if _, err := new(checker.Checker).PatchAndCheck(tree, cfg); err != nil {
		return nil, fromExprLangError(err, scope, source)
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, fromExprLangError(err, scope, source)
	}
	program := sync.OnceValues(func() (*vm.Program, error) { return compileProgram(source, cfg) })
	return &Expr{Source: strings.TrimSpace(source), program: program, Runtime: check.runtime, reads: check.reads}, nil
}

// compileProgram turns an expression that passed the load checks into bytecode.
func compileProgram(source string, cfg *conf.Config) (*vm.Program, error) {
	tree, err := parser.ParseWithConfig(source, cfg)
	if err != nil {
		return nil, err
	}
	strictMembers(&tree.Node)
	if _, err := new(checker.Checker).PatchAndCheck(tree, cfg); err != nil {
		return nil, err
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, err
	}
	return exprcompiler.Compile(tree, cfg)
}

func fromExprLangError(err error, scope *Scope, source string) *exprError {
	out := &exprError{msg: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		out.offset, out.msg = fe.From, fe.Message
	}
	if m := unknownNameRE.FindStringSubmatch(out.msg); m != nil {
		out.msg = fmt.Sprintf("unknown name %q in expression", m[1])
		if yamlBools[strings.ToLower(m[1])] {
			// YAML's habit (when: yes): a suggestion of a name that merely looks alike misleads.
			out.msg += ": expressions write booleans as true and false"
			return out
		}
		out.suggestion = qualifiedName(m[1], scope)
		if out.suggestion == "" {
			// A bare name stands for a value, a called one for a function: suggest the same kind.
			names := knownValueNames(scope)
			if rest := []rune(source); out.offset+len([]rune(m[1])) < len(rest) && strings.HasPrefix(strings.TrimSpace(string(rest[out.offset+len([]rune(m[1])):])), "(") {
				names = knownTopLevelNames(scope)
			}
			out.suggestion = Suggest(m[1], names)
		}
	}
	return out
}

// qualifiedName is what a bare name most likely meant: an output in retry.until
// (outputs.exitCode), a var (vars.cluster), or a step (steps.build).
func qualifiedName(name string, scope *Scope) string {
	switch {
	case slices.Contains(scope.Outputs, name):
		return "outputs." + name
	case scope.Vars[name]:
		return "vars." + name
	}
	if _, ok := scope.Steps.lookup(name, scope.Before); ok {
		return "steps." + name
	}
	return ""
}

var yamlBools = map[string]bool{"yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

// knownValueNames are the names that stand for values where an expression is written.
func knownValueNames(scope *Scope) []string {
	names := []string{"vars", "steps", "true", "false", "nil"}
	if scope.Loop {
		names = append(names, "item", "index")
	}
	if scope.Outputs != nil {
		names = append(names, "outputs")
	}
	if scope.Object {
		names = append(names, "object")
	}
	return names
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
	program, err := e.program()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.Source, err)
	}
	v, err := expr.Run(program, env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s: %s", e.Source, fe.Message)
		}
		return nil, fmt.Errorf("%s: %v", e.Source, err)
	}
	if e.readsSecret(env) {
		env.mask.AddComputed(v)
	}
	return v, nil
}

// scopeChecker finds names that exist for the type checker but not in this playbook: an
// unknown var, a step id that is not there, `item` outside a loop. It also records what the
// expression reads.
type scopeChecker struct {
	scope   *Scope
	err     *exprError
	runtime bool
	guarded map[ast.Node]bool
	reads
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
			c.runtime, c.item = true, true
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
	if base, ok := n.Node.(*ast.IdentifierNode); ok && base.Value == "steps" {
		if _, literal := n.Property.(*ast.StringNode); !literal {
			c.anyStep = true
		}
	}
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch base := n.Node.(type) {
	case *ast.IdentifierNode:
		switch base.Value {
		case "vars":
			c.vars = append(c.vars, prop.Value)
			if !c.scope.Vars[prop.Value] && !c.scope.Incomplete {
				c.fail(n.Property, Suggest(prop.Value, sortedKeys(c.scope.Vars)), "unknown var %q", prop.Value)
			}
			if v, known := c.scope.Values[prop.Value]; known && v == nil && !c.guarded[n] {
				// Declared ~: a var the user must give.
				c.fail(n.Property, "", "var %q has no value (it is declared ~, so it must be given): set it with --var %s=... or in a vars file (--vars-file)", prop.Value, prop.Value)
			}
		case "steps":
			c.steps = append(c.steps, prop.Value)
			if _, ok := c.scope.Steps.lookup(prop.Value, c.scope.Before); !ok && !c.scope.Incomplete {
				c.fail(n.Property, Suggest(prop.Value, c.scope.Steps.visible(c.scope.Before)), "no step has id %q", prop.Value)
			}
		case "outputs":
			if len(c.scope.Outputs) > 0 && !slices.Contains(c.scope.Outputs, prop.Value) {
				c.fail(n.Property, Suggest(prop.Value, c.scope.Outputs), "this step has no output %q (it has %v)", prop.Value, c.scope.Outputs)
			}
		}
	case *ast.MemberNode:
		if id, ok := stepsMember(base); ok {
			switch prop.Value {
			case "outputs":
				if ref, known := c.scope.Steps.lookup(id, c.scope.Before); known && ref.HasWhen && !c.guarded[n] {
					c.unguarded = append(c.unguarded, id)
				}
			case "status":
				c.statuses = append(c.statuses, id)
			default:
				c.fail(n.Property, Suggest(prop.Value, []string{"outputs", "status"}), "steps.%s has no field %q (it has outputs and status)", id, prop.Value)
			}
		}
	}
	// vars.<name>.<key>...: check each key against the var's value, known at load.
	if path, ok := varsPath(n); ok && c.scope.Values != nil && !c.guarded[n] {
		c.checkVarKey(n, path)
	}
	// steps.<id>.outputs.<name>: check the name against what the plugin declares.
	if id, ok := outputsMember(n.Node); ok {
		c.checkOutputName(id, n, prop.Value)
	}
	// steps.<id>.outputs.<name>.<key>: check the key where the step's parameters decide it.
	if outer, ok := n.Node.(*ast.MemberNode); ok {
		if name, ok := outer.Property.(*ast.StringNode); ok {
			if id, ok := outputsMember(outer.Node); ok {
				c.checkOutputKey(id, name.Value, n, prop.Value)
			}
		}
	}
}

// varsPath returns the names of vars.<name>.<key>... when every one is written literally.
func varsPath(n *ast.MemberNode) ([]string, bool) {
	var path []string
	var node ast.Node = n
	for {
		switch x := node.(type) {
		case *ast.MemberNode:
			prop, ok := x.Property.(*ast.StringNode)
			if !ok {
				return nil, false
			}
			path = append([]string{prop.Value}, path...)
			node = x.Node
			continue
		case *ast.IdentifierNode:
			return path, x.Value == "vars" && len(path) >= 2
		}
		return nil, false
	}
}

// checkVarKey fails a read of a key that a var's known value does not have.
func (c *scopeChecker) checkVarKey(n *ast.MemberNode, path []string) {
	value, known := c.scope.Values[path[0]]
	if !known {
		return
	}
	for _, key := range path[1 : len(path)-1] {
		m, ok := value.(map[string]any)
		if !ok {
			return
		}
		if value, ok = m[key]; !ok {
			return // the outer read fails first
		}
	}
	m, ok := value.(map[string]any)
	if !ok {
		return
	}
	last := path[len(path)-1]
	if _, ok := m[last]; !ok {
		keys := sortedKeys(m)
		c.fail(n.Property, Suggest(last, keys), "vars.%s has no key %q (it has: %s); write ?? 'default' after it where it may be missing",
			strings.Join(path[:len(path)-1], "."), last, strings.Join(keys, ", "))
	}
}

// outputsMember returns id when n is `steps.<id>.outputs`.
func outputsMember(n ast.Node) (string, bool) {
	outer, ok := n.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	if p, ok := outer.Property.(*ast.StringNode); !ok || p.Value != "outputs" {
		return "", false
	}
	inner, ok := outer.Node.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	return stepsMember(inner)
}

func (c *scopeChecker) checkOutputKey(id, output string, n *ast.MemberNode, key string) {
	ref, known := c.scope.Steps.lookup(id, c.scope.Before)
	if !known || ref.Looped || c.guarded[n] {
		return
	}
	keys, decided := ref.Keys[output]
	if !decided || keys == nil || slices.Contains(keys, key) {
		return
	}
	c.fail(n.Property, Suggest(key, keys), "step %q never sets %s key %q: it sets only %v", id, output, key, keys)
}

func (c *scopeChecker) checkOutputName(id string, n *ast.MemberNode, name string) {
	ref, known := c.scope.Steps.lookup(id, c.scope.Before)
	if !known || len(ref.Outputs) == 0 {
		return
	}
	if ref.Looped {
		example := ref.Outputs[0]
		if slices.Contains(ref.Outputs, name) {
			example = name
		}
		c.fail(n.Property, "", "step %q loops, so its outputs are a list with one entry per item: write steps.%s.outputs[0].%s, or map(steps.%s.outputs, .%s)", id, id, example, id, example)
		return
	}
	if !slices.Contains(ref.Outputs, name) {
		c.fail(n.Property, Suggest(name, ref.Outputs), "step %q has no output %q (it has %v)", id, name, ref.Outputs)
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

// guardedMembers finds the member accesses that may be missing without an error: the left
// side of `??`, and optional chains (`?.`).
func guardedMembers(root ast.Node) map[ast.Node]bool {
	guarded := map[ast.Node]bool{}
	ast.Walk(&root, visitorFunc(func(n *ast.Node) {
		var inside ast.Node
		switch b := (*n).(type) {
		case *ast.BinaryNode:
			if b.Operator == "??" {
				inside = b.Left
			}
		case *ast.ChainNode:
			inside = b.Node
		}
		if inside != nil {
			ast.Walk(&inside, visitorFunc(func(m *ast.Node) { guarded[*m] = true }))
		}
	}))
	return guarded
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

// outputsPatch routes every `steps.X.outputs` through a function that knows whether step X
// succeeded: outputs of a step that was skipped, not selected or failed are an error to read,
// never empty values, unless the read is guarded by ?? or ?. (then they are nil).
type outputsPatch struct{}

func (outputsPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok || prop.Value != "outputs" {
			return
		}
		inner, ok := n.Node.(*ast.MemberNode)
		if !ok {
			return
		}
		if base, ok := inner.Node.(*ast.IdentifierNode); !ok || base.Value != "steps" {
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: outputsFunc},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: "steps"}, inner.Property},
		})
	case *ast.BinaryNode:
		// In `steps.X.outputs.name ?? default` the outputs may be missing, and so may every
		// member read from them: the left side becomes an optional chain.
		if n.Operator == "??" && lenient(n.Left) {
			if _, chained := n.Left.(*ast.ChainNode); !chained {
				n.Left = &ast.ChainNode{Node: n.Left}
			}
		}
	case *ast.ChainNode:
		lenient(n.Node)
	}
}

// lenient makes the outputs reads in n give nil for a step without outputs, and the members
// read from them optional; it reports whether there was any.
func lenient(n ast.Node) bool {
	found := false
	ast.Walk(&n, visitorFunc(func(m *ast.Node) {
		switch x := (*m).(type) {
		case *ast.CallNode:
			if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == outputsFunc {
				id.Value, found = outputsOrNilFunc, true
			}
		case *ast.MemberNode:
			if readsLenientOutputs(x.Node) {
				x.Optional = true
			}
		}
	}))
	return found
}

func readsLenientOutputs(n ast.Node) bool {
	for {
		switch x := n.(type) {
		case *ast.CallNode:
			id, ok := x.Callee.(*ast.IdentifierNode)
			return ok && id.Value == outputsOrNilFunc
		case *ast.MemberNode:
			n = x.Node
		case *ast.ChainNode:
			n = x.Node
		default:
			return false
		}
	}
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

var exprPtrType = reflect.TypeOf((*Expr)(nil))
