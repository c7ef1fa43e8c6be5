package engine

import "go.yaml.in/yaml/v3"

// APIVersion and Kind identify a playbook file.
const (
	APIVersion = "playbook/v1"
	Kind       = "Playbook"
)

// Playbook is a loaded, checked playbook: every expression compiled, every parameter decoded
// as far as vars allow.
type Playbook struct {
	File        string
	Name        string
	Description string
	Vars        map[string]any // resolved, with --var and --vars-file applied
	VarOrder    []string
	Steps       []*Step
	Finally     []*Step
	// Secrets are the names of vars whose values are masked in all output.
	Secrets        []string
	secretValues   []string
	missingSecrets []string
}

// Step is one checked step.
type Step struct {
	Name         string
	ID           string
	Type         string
	File         string
	Line, Col    int
	When         *Expr
	Loop         *yaml.Node
	Parallel     int
	Retry        *Retry
	Timeout      Duration
	IgnoreErrors bool
	Finally      bool

	plugin plugin
	params *yaml.Node
	scope  *Scope
	cache  map[*yaml.Node]any
	// static holds parameters decoded at load time when none depends on step results, so a
	// run decodes them once, not per execution.
	static any
	// partial is the same with whatever needs step results left zero, for plan and Check.
	partial any
}

// Retry repeats a step until it succeeds and its until condition holds.
type Retry struct {
	Attempts int      `yaml:"attempts" doc:"how many times to try in all" pb:"required"`
	Delay    Duration `yaml:"delay" doc:"pause between attempts"`
	Until    *Expr    `yaml:"until" doc:"expression over outputs that must hold for success" pb:"bool"`
}
