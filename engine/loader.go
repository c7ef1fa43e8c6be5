package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadOptions are the user's overrides, applied before anything is checked so that the
// checks see the values the run will use.
type LoadOptions struct {
	Vars      []string // "key=value", value parsed as YAML
	VarsFiles []string
	Secrets   []string // "key=value" for secrets the playbook declares
}

// fileSpec is the top level of a playbook file.
type fileSpec struct {
	APIVersion  string       `yaml:"apiVersion" pb:"required"`
	Kind        string       `yaml:"kind" pb:"required"`
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	Include     []string     `yaml:"include"`
	Vars        *yaml.Node   `yaml:"vars"`
	Secrets     *yaml.Node   `yaml:"secrets"`
	Steps       []*yaml.Node `yaml:"steps"`
	Finally     []*yaml.Node `yaml:"finally"`
}

// stepSpec is what every step may say besides its one step-type key.
type stepSpec struct {
	Name         string     `yaml:"name" pb:"required"`
	ID           string     `yaml:"id"`
	When         *yaml.Node `yaml:"when"`
	Loop         *yaml.Node `yaml:"loop"`
	Parallel     int        `yaml:"parallel"`
	Retry        *yaml.Node `yaml:"retry"`
	Timeout      Duration   `yaml:"timeout"`
	IgnoreErrors bool       `yaml:"ignoreErrors"`
}

var stepKeys = structFields(reflect.TypeOf(stepSpec{})).keys

type varDecl struct {
	name   string
	node   *yaml.Node
	file   string
	secret bool
}

type stepDecl struct {
	node    *yaml.Node
	file    string
	finally bool
}

type loader struct {
	diags   Diagnostics
	vars    []varDecl
	varIdx  map[string]int
	steps   []stepDecl
	secrets []secretDecl
	stack   []string // absolute paths of the files being loaded, to find cycles
	shown   []string // the same paths as the user wrote them, for messages
	top     fileSpec
	visited map[string]bool
}

var idPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)

// Load reads a playbook and everything it includes, applies overrides, and checks it all:
// keys, types, parameters and expressions. It returns every problem found as Diagnostics.
func Load(path string, opts LoadOptions) (*Playbook, error) {
	l := &loader{varIdx: map[string]int{}, visited: map[string]bool{}}
	l.loadFile(path, nil, true)
	if len(l.diags) > 0 {
		return nil, l.diags
	}
	if err := l.applyOverrides(opts); err != nil {
		return nil, err
	}
	pb := &Playbook{File: path, Name: l.top.Name, Description: l.top.Description}
	if err := l.resolveSecrets(pb, opts.Secrets); err != nil {
		return nil, err
	}
	l.resolveVars(pb)
	if len(l.diags) == 0 {
		l.buildSteps(pb)
	}
	if len(l.diags) > 0 {
		for i := range l.diags {
			l.diags[i].Msg = pb.Mask(l.diags[i].Msg) // "expected a list, got "<secret>"" included
		}
		return nil, l.diags
	}
	return pb, nil
}

func (l *loader) errorf(file string, n *yaml.Node, suggestion, format string, args ...any) {
	d := Diagnostic{File: file, Msg: fmt.Sprintf(format, args...), Suggestion: suggestion}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	}
	l.diags = append(l.diags, d)
}

// loadFile parses one file and, depth first, what it includes; includedFrom is where the
// include was written, for errors about the include itself.
func (l *loader) loadFile(path string, includedFrom *Diagnostic, top bool) {
	path = filepath.Clean(path)
	abs, _ := filepath.Abs(path)
	for i, p := range l.stack {
		if p == abs {
			d := *includedFrom
			d.Msg = "include cycle: " + strings.Join(append(append([]string{}, l.shown[i:]...), path), " -> ")
			l.diags = append(l.diags, d)
			return
		}
	}
	if l.visited[abs] {
		return // a diamond include: vars and steps are taken once
	}
	l.visited[abs] = true
	root, ok := l.parse(path, includedFrom)
	if !ok {
		return
	}
	l.stack, l.shown = append(l.stack, abs), append(l.shown, path)
	defer func() { l.stack, l.shown = l.stack[:len(l.stack)-1], l.shown[:len(l.shown)-1] }()

	var spec fileSpec
	d := &decoder{file: path, scope: &Scope{}, cache: map[*yaml.Node]any{}}
	d.decode(root, reflect.ValueOf(&spec).Elem(), fieldOpts{})
	l.diags = append(l.diags, d.diags...)
	if len(d.diags) > 0 {
		return
	}
	l.checkHeader(path, root, &spec, top)
	for i, inc := range spec.Include {
		incPath := inc
		if !filepath.IsAbs(inc) {
			incPath = filepath.Join(filepath.Dir(path), inc)
		}
		pos := includeNode(root, i)
		l.loadFile(incPath, &Diagnostic{File: path, Line: pos.Line, Col: pos.Column}, false)
	}
	if top {
		l.top = spec
	}
	if spec.Vars != nil {
		l.addVars(path, spec.Vars)
	}
	if spec.Secrets != nil {
		l.addSecrets(path, spec.Secrets)
	}
	for _, s := range spec.Steps {
		l.steps = append(l.steps, stepDecl{node: s, file: path})
	}
	for _, s := range spec.Finally {
		l.steps = append(l.steps, stepDecl{node: s, file: path, finally: true})
	}
}

func includeNode(root *yaml.Node, i int) *yaml.Node {
	for k := 0; k+1 < len(root.Content); k += 2 {
		if root.Content[k].Value == "include" && i < len(root.Content[k+1].Content) {
			return root.Content[k+1].Content[i]
		}
	}
	return root
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads and parses one file into its top-level mapping node.
func (l *loader) parse(path string, includedFrom *Diagnostic) (*yaml.Node, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("file %s does not exist", path)
		}
		if includedFrom != nil {
			d := *includedFrom
			d.Msg = "cannot include: " + msg
			l.diags = append(l.diags, d)
		} else {
			l.diags = append(l.diags, Diagnostic{File: path, Msg: msg})
		}
		return nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.diags = append(l.diags, yamlSyntaxDiagnostic(path, data, err))
		return nil, false
	}
	if len(doc.Content) == 0 {
		l.diags = append(l.diags, Diagnostic{File: path, Line: 1, Col: 1, Msg: "empty file: expected a playbook (apiVersion: playbook/v1, kind: Playbook, steps: ...)"})
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.errorf(path, root, "", "expected a mapping with apiVersion, kind and steps, got %s", describeNode(root))
		return nil, false
	}
	return root, true
}

// yamlSyntaxDiagnostic turns the YAML parser's "yaml: line N: ..." into file:line:col; the
// parser gives no column, so we point at the first tab when tabs are the cause.
func yamlSyntaxDiagnostic(path string, data []byte, err error) Diagnostic {
	msg := err.Error()
	line, col := 0, 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	lines := strings.Split(string(data), "\n")
	if line == 0 {
		// The parser gives no line for problems found at the end of the input: point there.
		line = len(lines)
		if line > 1 && lines[line-1] == "" {
			line--
		}
		col = len([]rune(lines[line-1])) + 1
	}
	if line > 0 && line <= len(lines) {
		if i := strings.IndexByte(lines[line-1], '\t'); i >= 0 && strings.Contains(msg, "cannot start any token") {
			col = i + 1
			msg = "tab character: YAML indentation must use spaces"
		}
	}
	return Diagnostic{File: path, Line: line, Col: col, Msg: "invalid YAML: " + msg}
}

func (l *loader) checkHeader(path string, root *yaml.Node, spec *fileSpec, top bool) {
	if spec.APIVersion != APIVersion {
		l.errorf(path, valueNode(root, "apiVersion"), Suggest(spec.APIVersion, []string{APIVersion}), "apiVersion must be %q, got %q", APIVersion, spec.APIVersion)
	}
	if spec.Kind != Kind {
		l.errorf(path, valueNode(root, "kind"), Suggest(spec.Kind, []string{Kind}), "kind must be %q, got %q", Kind, spec.Kind)
	}
	if top && spec.Name == "" {
		l.errorf(path, root, "", "missing required key \"name\"")
	}
}

func valueNode(mapping *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	return mapping
}

func (l *loader) addVars(path string, n *yaml.Node) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(path, n, "", "vars: expected a mapping, got %s", describeNode(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			l.errorf(path, k, "", "duplicate key %q in vars", k.Value)
			continue
		}
		seen[k.Value] = true
		if !idPattern.MatchString(k.Value) || strings.Contains(k.Value, "-") {
			l.errorf(path, k, "", "var name %q must be a letter followed by letters, digits or _ (it is written vars.%s in expressions)", k.Value, k.Value)
			continue
		}
		l.setVar(varDecl{name: k.Value, node: n.Content[i+1], file: path})
	}
}

// setVar declares or, later in include order, overrides a var: the including file wins.
func (l *loader) setVar(v varDecl) {
	if i, ok := l.varIdx[v.name]; ok {
		l.vars[i] = v
		return
	}
	l.varIdx[v.name] = len(l.vars)
	l.vars = append(l.vars, v)
}

func (l *loader) varNames() []string {
	names := make([]string, len(l.vars))
	for i, v := range l.vars {
		names[i] = v.name
	}
	return names
}

// applyOverrides applies --vars-file then --var. Only declared vars can be set: a misspelled
// override that silently does nothing is the bug this tool exists to prevent.
func (l *loader) applyOverrides(opts LoadOptions) error {
	for _, f := range opts.VarsFiles {
		root, ok := l.parse(f, nil)
		if !ok {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k := root.Content[i]
			if _, ok := l.varIdx[k.Value]; !ok {
				l.errorf(f, k, Suggest(k.Value, l.varNames()), "unknown var %q: the playbook declares %s", k.Value, strings.Join(l.varNames(), ", "))
				continue
			}
			l.setVar(varDecl{name: k.Value, node: root.Content[i+1], file: f})
		}
	}
	if len(l.diags) > 0 {
		return l.diags
	}
	for _, kv := range opts.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--var %q: expected key=value", kv)
		}
		if _, declared := l.varIdx[k]; !declared {
			msg := fmt.Sprintf("--var %s: unknown var %q: the playbook declares %s", kv, k, strings.Join(l.varNames(), ", "))
			if s := Suggest(k, l.varNames()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return usagef("%s", msg)
		}
		l.setVar(varDecl{name: k, node: overrideNode(v), file: "--var " + k})
	}
	return nil
}

// overrideNode reads a --var value: numbers, booleans and flow lists or maps as YAML
// (workers=3, tags=[a,b]); anything else, newlines and quotes included, as the exact string
// the user typed.
func overrideNode(v string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err == nil && len(doc.Content) == 1 && !strings.Contains(v, "\n") {
		if n := doc.Content[0]; n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return n
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}
