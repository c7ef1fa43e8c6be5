package model

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

var topKeys = []string{"apiVersion", "kind", "name", "description", "include", "vars", "secrets", "steps", "finally"}

// NamePattern is what var and secret names look like: they are written vars.NAME.
var NamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)

// Load reads a playbook and, depth first, everything it includes. The including file's vars
// win; included steps come first. It returns the merged playbook with every problem found;
// Incomplete reports whether an include could not be read, so that a checker does not blame
// the file for names that the missing file may declare.
func Load(path string) (*Playbook, Diagnostics) {
	l := &loader{visited: map[string]bool{}, varIdx: map[string]int{}}
	pb := &Playbook{File: path, Lines: map[string][]string{}}
	l.pb = pb
	l.file(path, nil, true)
	return pb, l.diags
}

// Incomplete is true when Load could not read every included file.
func (pb *Playbook) Incomplete() bool { return pb.incomplete }

type loader struct {
	pb      *Playbook
	diags   Diagnostics
	stack   []string // absolute paths of the files being read, to find cycles
	shown   []string // the same paths as written, for messages
	visited map[string]bool
	varIdx  map[string]int
}

func (l *loader) errorf(file string, n *yaml.Node, suggestion, format string, args ...any) {
	l.diags = append(l.diags, At(file, n, suggestion, format, args...))
}

// At makes an error diagnostic at n's position.
func At(file string, n *yaml.Node, suggestion, format string, args ...any) Diagnostic {
	d := Diagnostic{File: file, Msg: fmt.Sprintf(format, args...), Suggestion: suggestion}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	}
	return d
}

func (l *loader) file(path string, includedFrom *Diagnostic, top bool) {
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
		return // a diamond include: its vars and steps are taken once
	}
	l.visited[abs] = true
	root, ok := l.parse(path, includedFrom)
	if !ok {
		if includedFrom != nil {
			l.pb.incomplete = true
		}
		return
	}
	l.stack, l.shown = append(l.stack, abs), append(l.shown, path)
	defer func() { l.stack, l.shown = l.stack[:len(l.stack)-1], l.shown[:len(l.shown)-1] }()

	fields := l.mapping(path, root, "mapping", topKeys)
	l.header(path, root, fields, top)
	if inc, ok := fields["include"]; ok {
		for _, item := range l.list(path, inc.Value, "include") {
			if item.Kind != yaml.ScalarNode {
				l.errorf(path, item, "", "include: expected a file name, got %s", Describe(item))
				continue
			}
			incPath := item.Value
			if !filepath.IsAbs(incPath) {
				incPath = filepath.Join(filepath.Dir(path), incPath)
			}
			// A missing include does not stop this file's own checks.
			l.file(incPath, &Diagnostic{File: path, Line: item.Line, Col: item.Column}, false)
		}
	}
	if v, ok := fields["vars"]; ok {
		l.vars(path, v.Value)
	}
	if s, ok := fields["secrets"]; ok {
		l.secrets(path, s.Value)
	}
	for _, key := range []string{"steps", "finally"} {
		if e, ok := fields[key]; ok {
			for _, n := range l.list(path, e.Value, key) {
				if s, ok := l.step(path, n, key == "finally"); ok {
					if key == "finally" {
						l.pb.Finally = append(l.pb.Finally, s)
					} else {
						l.pb.Steps = append(l.pb.Steps, s)
					}
				}
			}
		}
	}
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
	l.pb.Lines[path] = strings.Split(string(data), "\n")
	root, d := ParseMapping(path, data, "expected a playbook (apiVersion: playbook/v1, kind: Playbook, steps: ...)", "expected a mapping with apiVersion, kind and steps")
	if d != nil {
		l.diags = append(l.diags, *d)
		return nil, false
	}
	return root, true
}

// ParseMapping parses YAML whose top level must be a mapping (a playbook, a vars file);
// empty and expected say what was expected, for an empty file and for anything else.
func ParseMapping(path string, data []byte, empty, expected string) (*yaml.Node, *Diagnostic) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d := yamlSyntaxDiagnostic(path, data, err)
		return nil, &d
	}
	if len(doc.Content) == 0 {
		return nil, &Diagnostic{File: path, Line: 1, Col: 1, Msg: "empty file: " + empty}
	}
	root := Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d := At(path, root, "", "%s, got %s", expected, Describe(root))
		return nil, &d
	}
	return root, nil
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
	if l, c, hint := yamlProblemLine(lines, line, msg); l > 0 {
		line, col, msg = l, c, msg+": "+hint
	}
	return Diagnostic{File: path, Line: line, Col: col, Msg: "invalid YAML: " + msg}
}

// yamlProblemLine finds the line a YAML error is about. The parser names where the
// collection it was reading starts (the `steps:` line), not the line that broke it; for the
// two mistakes newcomers make most, that line can be found from the text.
func yamlProblemLine(lines []string, from int, msg string) (int, int, string) {
	indentOf := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	blank := func(l string) bool { t := strings.TrimSpace(l); return t == "" || strings.HasPrefix(t, "#") }
	switch {
	case strings.Contains(msg, "did not find expected '-' indicator"):
		item := -1
		for i := max(from-1, 0); i < len(lines); i++ {
			if blank(lines[i]) {
				continue
			}
			t := strings.TrimLeft(lines[i], " ")
			switch {
			case item < 0 && (t == "-" || strings.HasPrefix(t, "- ")):
				item = indentOf(lines[i])
			case item >= 0 && indentOf(lines[i]) == item && t != "-" && !strings.HasPrefix(t, "- "):
				return i + 1, item + 1, "this line stands at the list's `-` but is not an item: indent it under the item above, or start a new item with -"
			}
		}
	case strings.Contains(msg, "did not find expected ',' or '}'") || strings.Contains(msg, "did not find expected ',' or ']'"):
		for i := max(from-1, 0); i < len(lines); i++ {
			if at := strings.Index(lines[i], "${{"); at >= 0 && (at == 0 || !strings.ContainsRune(`"'`, rune(lines[i][at-1]))) {
				return i + 1, len([]rune(lines[i][:at])) + 1, "a ${{ }} inside {...} or [...] must be quoted: write \"${{ ... }}\""
			}
		}
	}
	return 0, 0, ""
}

func (l *loader) header(path string, root *yaml.Node, fields map[string]Entry, top bool) {
	l.checkKind(path, root, fields, Kind)
	name, nameNode := l.scalar(path, fields, "name")
	description, _ := l.scalar(path, fields, "description")
	if !top {
		return
	}
	if name == "" {
		l.errorf(path, root, "", "missing required key \"name\"")
	}
	l.pb.Name, l.pb.NameNode, l.pb.Description = name, nameNode, description
}

// checkKind checks the apiVersion and kind every file of this tool starts with.
func (l *loader) checkKind(path string, root *yaml.Node, fields map[string]Entry, kind string) {
	for _, key := range []string{"apiVersion", "kind"} {
		if _, ok := fields[key]; !ok {
			l.errorf(path, root, "", "missing required key %q", key)
		}
	}
	if v, n := l.scalar(path, fields, "apiVersion"); n != nil && v != APIVersion {
		l.errorf(path, n, Suggest(v, []string{APIVersion}), "apiVersion must be %q, got %q", APIVersion, v)
	}
	if v, n := l.scalar(path, fields, "kind"); n != nil && v != kind {
		l.errorf(path, n, Suggest(v, []string{kind}), "kind must be %q, got %q", kind, v)
	}
}

// scalar is a string-valued key of fields, and its node; a value of another shape is an error.
func (l *loader) scalar(path string, fields map[string]Entry, key string) (string, *yaml.Node) {
	e, ok := fields[key]
	if !ok {
		return "", nil
	}
	v := Resolve(e.Value)
	if v.Kind != yaml.ScalarNode {
		l.errorf(path, v, "", "%s: expected a string, got %s", key, Describe(v))
		return "", nil
	}
	return v.Value, v
}

// mapping checks a mapping's keys: strings, each once, each one of known (did-you-mean for
// the rest). what names the mapping in messages.
func (l *loader) mapping(path string, n *yaml.Node, what string, known []string) map[string]Entry {
	out := map[string]Entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !l.key(path, k, out, what) {
			continue
		}
		if known != nil && !slices.Contains(known, k.Value) {
			l.errorf(path, k, Suggest(k.Value, known), "unknown key %q in %s (expected one of: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		out[k.Value] = Entry{Key: k, Value: v}
	}
	return out
}

// key rejects non-string and duplicate keys; YAML parsers keep the last duplicate silently,
// which hides exactly the mistakes this tool exists to catch.
func (l *loader) key(path string, k *yaml.Node, seen map[string]Entry, what string) bool {
	if k.Kind != yaml.ScalarNode {
		l.errorf(path, k, "", "%s: keys must be plain strings", what)
		return false
	}
	if _, dup := seen[k.Value]; dup {
		l.errorf(path, k, "", "duplicate key %q in %s", k.Value, what)
		return false
	}
	return true
}

func (l *loader) list(path string, n *yaml.Node, what string) []*yaml.Node {
	n = Resolve(n)
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(path, n, "", "%s: expected a list, got %s", what, Describe(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = Resolve(c)
	}
	return out
}

func (l *loader) vars(path string, n *yaml.Node) {
	l.named(path, n, "vars", "a mapping", func(k, v *yaml.Node) {
		if !NamePattern.MatchString(k.Value) {
			l.errorf(path, k, "", "var name %q must be a letter followed by letters, digits or _ (it is written vars.%s in expressions)", k.Value, k.Value)
			return
		}
		l.setVar(Var{Name: k.Value, Key: k, Value: v, File: path})
	})
}

// named reads a mapping of names (vars, secrets): each key a string, each once.
func (l *loader) named(path string, n *yaml.Node, what, expected string, each func(k, v *yaml.Node)) {
	n = Resolve(n)
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(path, n, "", "%s: expected %s, got %s", what, expected, Describe(n))
		return
	}
	seen := map[string]Entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !l.key(path, k, seen, what) {
			continue
		}
		seen[k.Value] = Entry{}
		each(k, Resolve(n.Content[i+1]))
	}
}

// setVar declares a var or, later in include order, overrides it: the including file wins.
func (l *loader) setVar(v Var) {
	if i, ok := l.varIdx[v.Name]; ok {
		l.pb.Vars[i] = v
		return
	}
	l.varIdx[v.Name] = len(l.pb.Vars)
	l.pb.Vars = append(l.pb.Vars, v)
}

func (l *loader) secrets(path string, n *yaml.Node) {
	l.named(path, n, "secrets", "a mapping of name: {env: ..., file: ...}", func(k, v *yaml.Node) {
		what := "secrets." + k.Value
		s := Secret{Name: k.Value, Key: k, File: path}
		if !IsNull(v) {
			if v.Kind != yaml.MappingNode {
				l.errorf(path, v, "", "%s: expected a mapping with env or file, got %s", what, Describe(v))
				return
			}
			for key, e := range l.mapping(path, v, what, []string{"env", "file"}) {
				val := Resolve(e.Value)
				if val.Kind != yaml.ScalarNode {
					l.errorf(path, val, "", "%s.%s: expected a string, got %s", what, key, Describe(val))
					continue
				}
				if key == "env" {
					s.Env = val.Value
				} else {
					s.Path = val.Value
				}
			}
		}
		if !NamePattern.MatchString(k.Value) {
			l.errorf(path, k, "", "secret name %q must be a letter followed by letters, digits or _", k.Value)
			return
		}
		l.pb.Secrets = append(l.pb.Secrets, s)
	})
}

func (l *loader) step(path string, n *yaml.Node, finally bool) (Step, bool) {
	if n.Kind != yaml.MappingNode {
		l.errorf(path, n, "", "a step must be a mapping with name and one step type, got %s", Describe(n))
		return Step{}, false
	}
	s := Step{File: path, Node: n, Keys: map[string]Entry{}, Finally: finally}
	seen := map[string]Entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !l.key(path, k, seen, "step") {
			continue
		}
		seen[k.Value] = Entry{}
		if slices.Contains(StepKeys, k.Value) {
			s.Keys[k.Value] = Entry{Key: k, Value: v}
		} else {
			s.Others = append(s.Others, Entry{Key: k, Value: v})
		}
	}
	return s, true
}
