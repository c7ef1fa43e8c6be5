package engine

import (
	"reflect"
	"time"

	"github.com/kindlab/playbook/model"
	"go.yaml.in/yaml/v3"
)

// Plan is a compiled playbook: vars resolved, every step's parameters decoded as far as vars
// decide them, every expression and template compiled, each with the place it was written.
// Nothing in a Plan changes after Compile, so runs, `playbook plan` and resume fingerprints
// read it at once without locks.
type Plan struct {
	File        string
	Name        string
	Description string
	Vars        map[string]any // resolved, with --var and --vars-file applied
	VarOrder    []string
	// Secrets are the names of vars whose values are never shown: the declared secrets and
	// the vars computed from them.
	Secrets  []string
	Steps    []*Step
	Finally  []*Step
	Warnings Diagnostics

	masker         *Masker
	missingSecrets []string
	secretVars     map[string]bool // secrets and the vars computed from them
}

// Step is one compiled step.
type Step struct {
	Name         string // as written; a name that uses item is filled in per item
	ID           string
	Type         string
	File         string
	Line, Col    int
	When         *Expr
	Parallel     int
	Retry        *Retry
	Timeout      time.Duration
	IgnoreErrors bool
	// Proof marks a step whose outcome proves something: reports compare it across cells as
	// they do every assert.
	Proof   bool
	Finally bool

	plugin     plugin
	params     *param
	paramsNode *yaml.Node // where the parameters were written
	outputKeys map[string][]string
	loop       *param    // nil unless the step loops
	itemName   *Template // the name, when it uses item or index
	reads      reads     // what its expressions read: the resume fingerprint covers it
}

// Loops reports whether the step runs once per item of a list.
func (s *Step) Loops() bool { return s.loop != nil }

// Retry repeats a step until it succeeds, or until its until condition holds.
type Retry struct {
	Attempts int      `yaml:"attempts" doc:"how many times to try in all" pb:"required"`
	Delay    Duration `yaml:"delay" doc:"pause between attempts"`
	Until    *Expr    `yaml:"until" doc:"when given, the success test: evaluated after every attempt, failed ones included; the step succeeds when it holds" pb:"bool"`
}

// LoadOptions are the user's overrides, applied before anything is checked so that the
// checks see the values the run will use.
type LoadOptions struct {
	Vars      []string // "key=value", coerced to the declared var's type
	VarsFiles []string
	Secrets   []string // "key=value" for secrets the playbook declares
}

// Load reads a playbook and what it includes (package model), then compiles it. Every
// problem is returned at once as Diagnostics; warnings travel in Plan.Warnings.
func Load(path string, opts LoadOptions) (*Plan, error) {
	file, diags := model.Load(path)
	plan, err := Compile(file, opts, diags)
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// staticParams is the step's parameters when the file and the vars decide them all: the run
// decodes nothing, and `plan` shows what the step will do.
func (s *Step) staticParams() (any, bool) {
	if !s.params.known() {
		return nil, false
	}
	return pointerTo(s.params.value), true
}

func pointerTo(v reflect.Value) any {
	ptr := reflect.New(v.Type())
	ptr.Elem().Set(v)
	return ptr.Interface()
}

// Mask hides every secret in s.
func (p *Plan) Mask(s string) string { return p.masker.String(s) }

// Masker is the plan's masker, for callers that show what the plan holds.
func (p *Plan) Masker() *Masker { return p.masker }

// env is what expressions read: the vars, and the steps' results so far when a run has them.
// It carries the masker, which learns every value computed from a secret.
func (p *Plan) env(steps map[string]any) *Env {
	return &Env{Vars: p.Vars, Steps: steps, mask: p.masker, secretVars: p.secretVars}
}
