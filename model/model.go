// Package model is what a playbook file says, and nothing more: its vars, secrets and steps
// as YAML nodes with their positions, and the merge of its includes. Checking what the values
// mean, compiling expressions and running steps happen elsewhere (package engine) and never
// change what is here.
package model

import "go.yaml.in/yaml/v3"

// APIVersion and Kind identify a playbook file.
const (
	APIVersion = "playbook/v1"
	Kind       = "Playbook"
)

// StepKeys are what every step may say besides its one step-type key.
var StepKeys = []string{"name", "id", "when", "loop", "parallel", "retry", "timeout", "ignoreErrors", "proof"}

// Playbook is a playbook file merged with everything it includes.
type Playbook struct {
	File        string // the file that was loaded, as the user named it
	Name        string
	NameNode    *yaml.Node
	Description string
	Vars        []Var // declaration order; a later file's value replaces an earlier one
	Secrets     []Secret
	Steps       []Step // included files' steps first, in include order
	Finally     []Step
	// Lines are each file's text, line by line, for diagnostics that point inside a block
	// scalar (whose indentation the YAML nodes do not keep).
	Lines      map[string][]string
	incomplete bool
}

// Var is one declared var and where its value was written.
type Var struct {
	Name  string
	Key   *yaml.Node
	Value *yaml.Node
	File  string
}

// Secret is a declared secret: a var whose value comes from the environment, a file or
// --secret, and is never shown.
type Secret struct {
	Name string
	Env  string
	Path string // the file holding the value, relative to File
	Key  *yaml.Node
	File string
}

// Step is one step as written: the step-level keys, and every other key (one of which should
// be its step type).
type Step struct {
	File    string
	Node    *yaml.Node       // the step's mapping
	Keys    map[string]Entry // name, id, when, loop, ... as written
	Others  []Entry          // every other key, in order
	Finally bool
}

// Entry is a key and its value, with their positions.
type Entry struct {
	Key, Value *yaml.Node
}

// Value returns the value written for a step-level key, or nil.
func (s *Step) Value(key string) *yaml.Node {
	if e, ok := s.Keys[key]; ok {
		return e.Value
	}
	return nil
}

// Resolve follows YAML aliases to the node they stand for.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}
