package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
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
	// Validate checks rules between fields; return FieldError to point at one field.
	Validate func(p *P) error
	// Check runs at load time after Validate, for checks that read files (dir is the
	// playbook's directory); they are made again when the step runs. Unlike Validate it also
	// runs when some parameters wait for step results: those are then zero.
	Check func(p *P, dir string) error
	// Plan describes what Run would do, without side effects (optional); PlaybookDir(ctx)
	// is the playbook's directory. Parameters that wait for step results are zero.
	Plan func(ctx context.Context, p *P) (any, error)
	Run  func(ctx context.Context, rt *Runtime, p *P) (map[string]any, error)
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
	paramsType() reflect.Type
	validate(p any) error
	check(p any, dir string) error
	plan(ctx context.Context, p any) (any, error)
	run(ctx context.Context, rt *Runtime, p any) (map[string]any, error)
}

func (t *StepType[P]) name() string             { return t.Name }
func (t *StepType[P]) summary() string          { return t.Summary }
func (t *StepType[P]) outputs() []OutputDoc     { return t.Outputs }
func (t *StepType[P]) paramsType() reflect.Type { return reflect.TypeOf((*P)(nil)).Elem() }

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

func (t *StepType[P]) run(ctx context.Context, rt *Runtime, p any) (map[string]any, error) {
	return t.Run(ctx, rt, p.(*P))
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
}

// PluginDoc describes a step type, for `playbook steps`.
type PluginDoc struct {
	Name    string      `json:"name"`
	Summary string      `json:"summary"`
	Params  []ParamDoc  `json:"params"`
	Outputs []OutputDoc `json:"outputs"`
}

// Plugins documents every registered step type, sorted by name.
func Plugins() []PluginDoc {
	var docs []PluginDoc
	for _, name := range pluginNames() {
		p, _ := lookupPlugin(name)
		doc := PluginDoc{Name: name, Summary: p.summary(), Outputs: p.outputs()}
		for _, f := range structFields(p.paramsType()).list {
			doc.Params = append(doc.Params, ParamDoc{Key: f.key, Type: typeName(f.typ), Doc: f.doc, Required: f.required})
		}
		docs = append(docs, doc)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	return docs
}

func typeName(t reflect.Type) string {
	switch {
	case t == exprPtrType:
		return "expression"
	case t == durationType:
		return "duration"
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

// ErrUntil is returned when a retry's until condition never held.
var ErrUntil = errors.New("until condition not met")

func newParams(p plugin) reflect.Value { return reflect.New(p.paramsType()) }
