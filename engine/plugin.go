package engine

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// OutputDoc describes one output a step type produces.
type OutputDoc struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

// StepType is a step plugin. P is its parameter struct: each field's `yaml` tag is the key a
// playbook writes, `doc` explains it, and `pb:"required"` makes it mandatory. The loader
// decodes and checks parameters before anything runs, so Run only sees well-typed input.
type StepType[P any] struct {
	Name    string
	Summary string
	Outputs []OutputDoc
	// Example is one short use of the step type: steps as a playbook's steps: list holds them
	// (a step before it when it reads one's outputs); `playbook steps NAME` shows it, and a
	// test loads it, so it cannot go stale.
	Example string
	// OutputKeys names the keys of map outputs that the parameters decide (exec's values,
	// set by the script), so that a read of a key that is never set fails at load. An
	// output it leaves out, or gives nil keys, is not checked.
	OutputKeys func(p *P) map[string][]string
	// Validate checks rules between fields; return FieldError to point at one field.
	Validate func(p *P) error
	// Check runs at load time after Validate, for checks that read files (dir is the
	// playbook's directory); they are made again when the step runs. Unlike Validate it also
	// runs when some parameters wait for step results: those are then zero.
	Check func(p *P, dir string) error
	// Plan describes what Run would do, without side effects (optional); PlaybookDir(ctx)
	// is the playbook's directory. Parameters that wait for step results are zero.
	Plan func(ctx context.Context, p *P) (any, error)
	// Files lists the local files and directories the step reads (manifests, values
	// files, a chart), relative to the playbook's directory or absolute: --resume runs the
	// step again when one of them changed (optional).
	Files func(p *P) []string
	Run   func(ctx context.Context, rt *Runtime, p *P) (map[string]any, error)
}

// FieldError is a validation problem in one parameter; the loader reports it at that
// parameter's position in the playbook.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errorf returns a FieldError for field.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

type plugin interface {
	name() string
	summary() string
	outputs() []OutputDoc
	outputKeys(p any) map[string][]string
	example() string
	paramsType() reflect.Type
	validate(p any) error
	check(p any, dir string) error
	plan(ctx context.Context, p any) (any, error)
	files(p any) []string
	run(ctx context.Context, rt *Runtime, p any) (map[string]any, error)
}

func (t *StepType[P]) name() string             { return t.Name }
func (t *StepType[P]) summary() string          { return t.Summary }
func (t *StepType[P]) outputs() []OutputDoc     { return t.Outputs }
func (t *StepType[P]) example() string          { return t.Example }
func (t *StepType[P]) paramsType() reflect.Type { return reflect.TypeOf((*P)(nil)).Elem() }

func (t *StepType[P]) outputKeys(p any) map[string][]string {
	if t.OutputKeys == nil {
		return nil
	}
	return t.OutputKeys(p.(*P))
}

func (t *StepType[P]) validate(p any) error {
	if t.Validate == nil {
		return nil
	}
	return t.Validate(p.(*P))
}

func (t *StepType[P]) check(p any, dir string) error {
	if t.Check == nil {
		return nil
	}
	return t.Check(p.(*P), dir)
}

func (t *StepType[P]) plan(ctx context.Context, p any) (any, error) {
	if t.Plan == nil {
		return nil, nil
	}
	return t.Plan(ctx, p.(*P))
}

func (t *StepType[P]) files(p any) []string {
	if t.Files == nil {
		return nil
	}
	return t.Files(p.(*P))
}

func (t *StepType[P]) run(ctx context.Context, rt *Runtime, p any) (map[string]any, error) {
	out, err := t.Run(ctx, rt, p.(*P))
	if err == nil {
		err = t.checkOutputs(out)
	}
	return out, err
}

// checkOutputs holds a step type to what `playbook steps` says it returns, on every run: a
// documented output that is not there would otherwise surface later as a confusing error in
// the step that reads it, and an undocumented one is an output nobody can find.
func (t *StepType[P]) checkOutputs(out map[string]any) error {
	var missing, undocumented []string
	documented := map[string]bool{}
	for _, d := range t.Outputs {
		documented[d.Name] = true
		if _, ok := out[d.Name]; !ok {
			missing = append(missing, d.Name)
		}
	}
	for _, k := range sortedKeys(out) {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	if len(missing) == 0 && len(undocumented) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "left out documented "+strings.Join(missing, ", "))
	}
	if len(undocumented) > 0 {
		parts = append(parts, "returned undocumented "+strings.Join(undocumented, ", "))
	}
	return fmt.Errorf("step type %s broke its outputs contract (a bug in the step type): it %s", t.Name, strings.Join(parts, " and "))
}

var (
	registryMu sync.RWMutex
	registry   = map[string]plugin{}
)

// Register adds a step type. Plugins call it from init; a duplicate name is a programming
// error and panics at start-up.
func Register[P any](t StepType[P]) {
	if t.Name == "" || t.Run == nil {
		panic("engine.Register: a step type needs a Name and a Run")
	}
	if reflect.TypeOf((*P)(nil)).Elem().Kind() != reflect.Struct {
		panic("engine.Register: parameters of " + t.Name + " must be a struct")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.Name]; dup {
		panic("engine.Register: step type " + t.Name + " registered twice")
	}
	registry[t.Name] = &t
}

func lookupPlugin(name string) (plugin, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	p, ok := registry[name]
	return p, ok
}

func pluginNames() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return sortedKeys(registry)
}

// ParamDoc describes one parameter of a step type, for `playbook steps`.
type ParamDoc struct {
	Key      string `json:"key"`
	Type     string `json:"type"`
	Doc      string `json:"doc"`
	Required bool   `json:"required,omitempty"`
	// OneOf names a group of parameters of which exactly one is given (exec: argv or shell).
	OneOf string `json:"oneOf,omitempty"`
	// Keys are the sub-keys of a nested parameter (kindCreate's networking).
	Keys []ParamDoc `json:"keys,omitempty"`
}

// PluginDoc describes a step type, for `playbook steps`.
type PluginDoc struct {
	Name    string      `json:"name"`
	Summary string      `json:"summary"`
	Params  []ParamDoc  `json:"params"`
	Outputs []OutputDoc `json:"outputs"`
	Example string      `json:"example,omitempty"`
}

// StepKeyDocs are the keys every step may have besides its type, for `playbook steps`.
var StepKeyDocs = []ParamDoc{
	{Key: "name", Type: "string", Doc: "what the step does; unique; may use vars, and item or index in a step with loop", Required: true},
	{Key: "id", Type: "string", Doc: "how expressions name it: steps.<id>.outputs, steps.<id>.status; --start-at and --only take it"},
	{Key: "when", Type: "expression", Doc: "run only when this holds; with loop, per item"},
	{Key: "loop", Type: "list", Doc: "run once per item (a YAML list, or ${{ }} that gives one); the item is item, its index index"},
	{Key: "parallel", Type: "int", Doc: "with loop: run at most this many items at once; the first failure cancels the rest"},
	{Key: "retry", Type: "mapping", Doc: "attempts, delay, until: try again until an attempt succeeds; until, when given, is the success test, evaluated after every attempt (failed ones too)",
		Keys: paramDocs(reflect.TypeOf(Retry{}))},
	{Key: "timeout", Type: "duration", Doc: "for the whole step, retries included"},
	{Key: "ignoreErrors", Type: "bool", Doc: "report a failure and go on with the run"},
	{Key: "proof", Type: "bool", Doc: "a step whose outcome proves something: a row of the comparison of a job's cells, as every assert is unless it says proof: false"},
}

// Plugins documents every registered step type, sorted by name.
func Plugins() []PluginDoc {
	var docs []PluginDoc
	for _, name := range pluginNames() {
		p, _ := lookupPlugin(name)
		docs = append(docs, PluginDoc{Name: name, Summary: p.summary(), Outputs: p.outputs(),
			Params: paramDocs(p.paramsType()), Example: p.example()})
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	return docs
}

func paramDocs(t reflect.Type) []ParamDoc {
	var out []ParamDoc
	for _, f := range structFields(t).list {
		d := ParamDoc{Key: f.key, Type: typeName(f.typ), Doc: f.doc, Required: f.required, OneOf: f.oneOf}
		inner := f.typ
		for inner.Kind() == reflect.Pointer || inner.Kind() == reflect.Slice {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct && inner != durationType && inner != scriptType && inner != exprPtrType.Elem() {
			d.Keys = paramDocs(inner)
		}
		out = append(out, d)
	}
	return out
}

func typeName(t reflect.Type) string {
	switch {
	case t == exprPtrType:
		return "expression"
	case t == durationType:
		return "duration"
	case t == scriptType:
		return "shell script"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem())
	case t.Kind() == reflect.Interface:
		return "any"
	case t.Kind() == reflect.Struct:
		return "mapping"
	}
	return t.Kind().String()
}

func newParams(p plugin) reflect.Value { return reflect.New(p.paramsType()) }
