package engine

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a Go duration written as text ("30s", "2m").
type Duration struct{ time.Duration }

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

var (
	exprPtrType  = reflect.TypeOf((*Expr)(nil))
	durationType = reflect.TypeOf(Duration{})
	nodePtrType  = reflect.TypeOf((*yaml.Node)(nil))
)

// decoder turns YAML nodes into typed Go values strictly, reporting every problem at its
// file:line:col. The same decoder runs at load time (templates that depend only on vars are
// resolved, those that depend on step results are deferred) and at run time (all resolved),
// so a parameter is checked by exactly one set of rules.
type decoder struct {
	file     string
	scope    *Scope
	env      *Env
	runtime  bool
	cache    map[*yaml.Node]any // compiled *Template / *Expr, shared by load and run
	diags    Diagnostics
	deferred bool // a template was left for run time
	literal  int  // >0 while decoding a value produced by an expression: never a template
	// plan shows a template that needs step results as its source text instead of deferring.
	plan bool
	// noRequired drops "missing required key" errors: set when the mapping had unknown keys,
	// which already explain what is missing.
	noRequired bool
}

func (d *decoder) errorf(n *yaml.Node, suggestion, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Suggestion: suggestion})
}

// exprErrorAt places an expression error at its column inside the YAML scalar.
func (d *decoder) exprErrorAt(n *yaml.Node, byteOffset int, e *exprError) {
	line, col := n.Line, n.Column
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	before := n.Value[:min(byteOffset, len(n.Value))]
	if nl := strings.Count(before, "\n"); nl > 0 || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line += nl
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++
		}
		col = 1 + len([]rune(before[strings.LastIndex(before, "\n")+1:]))
	} else {
		col += len([]rune(before))
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col, Msg: e.msg, Suggestion: e.suggestion})
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

type fieldOpts struct {
	path   string
	shell  bool // interpolated values are shell-quoted
	asBool bool // bare expressions must yield a bool
	object bool // bare expressions may use `object`
}

func (d *decoder) isTemplate(n *yaml.Node) bool {
	return d.literal == 0 && n.Kind == yaml.ScalarNode && n.Tag == "!!str" && HasTemplate(n.Value)
}

func (d *decoder) template(n *yaml.Node) *Template {
	if t, ok := d.cache[n].(*Template); ok {
		return t
	}
	t, err := compileTemplate(n.Value, d.scope)
	if err != nil {
		d.exprErrorAt(n, err.offset, err)
		return nil
	}
	d.cache[n] = t
	return t
}

func (d *decoder) bareExpr(n *yaml.Node, f fieldOpts) *Expr {
	if e, ok := d.cache[n].(*Expr); ok {
		return e
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "", "%s: expected an expression, got %s", f.path, describeNode(n))
		return nil
	}
	src := n.Value
	offset := 0
	// Authors often wrap bare expressions in ${{ }} out of habit; accept it.
	if t := strings.TrimSpace(src); strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") && strings.Count(t, "${{") == 1 {
		offset = strings.Index(src, "${{") + 3
		src = t[3 : len(t)-2]
	}
	scope := d.scope
	if f.object {
		withObject := *scope
		withObject.Object = true
		scope = &withObject
	}
	e, err := compileExpr(src, scope, f.asBool)
	if err != nil {
		d.exprErrorAt(n, offset+runeOffsetToByte(src, err.offset), err)
		return nil
	}
	d.cache[n] = e
	return e
}

// renderTemplate resolves a templated scalar now, or reports that it must wait for run time.
func (d *decoder) renderTemplate(n *yaml.Node, f fieldOpts) (any, bool) {
	t := d.template(n)
	if t == nil {
		return nil, false
	}
	if t.Runtime() && !d.runtime {
		if d.plan {
			return t.Raw, true
		}
		d.deferred = true
		return nil, false
	}
	var quote func(string) string
	if f.shell {
		quote = ShellQuote
	}
	v, err := t.Render(d.env, quote)
	if err != nil {
		d.errorf(n, "", "%s: %v", f.path, err)
		return nil, false
	}
	return v, true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, f fieldOpts) {
	n = resolveAlias(n)
	if v.Type() == exprPtrType {
		if e := d.bareExpr(n, f); e != nil {
			v.Set(reflect.ValueOf(e))
		}
		return
	}
	if v.Type() == nodePtrType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if d.isTemplate(n) {
		if val, ok := d.renderTemplate(n, f); ok {
			d.assign(n, val, v, f)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && v.Kind() != reflect.Interface {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, "", "%s: expected a duration like 30s or 2m, got %s", f.path, describeNode(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil || dur < 0 {
			d.errorf(n, "", "%s: expected a duration like 30s or 2m, got %q", f.path, n.Value)
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), f)
		v.Set(elem)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, f)
	case v.Kind() == reflect.Map:
		d.decodeMap(n, v, f)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "", "%s: expected a list, got %s", f.path, describeNode(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fieldOpts{path: fmt.Sprintf("%s[%d]", f.path, i), shell: f.shell, asBool: f.asBool, object: f.object})
		}
		v.Set(s)
	case v.Kind() == reflect.Interface:
		if val, ok := d.value(n, f.path); ok {
			if val != nil {
				v.Set(reflect.ValueOf(val))
			}
		}
	default:
		d.decodeScalar(n, v, f)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, f fieldOpts) {
	want := describeType(v.Type())
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "", "%s: expected %s, got %s", f.path, want, describeNode(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value) // raw text: "1.20" stays "1.20" in a string field
		return
	case reflect.Bool:
		if n.Tag == "!!bool" {
			b, _ := strconv.ParseBool(strings.ToLower(n.Value))
			v.SetBool(b)
			return
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Tag == "!!int" {
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err == nil {
				v.SetInt(i)
				return
			}
		}
	case reflect.Float64:
		if n.Tag == "!!int" || n.Tag == "!!float" {
			fl, err := strconv.ParseFloat(n.Value, 64)
			if err == nil {
				v.SetFloat(fl)
				return
			}
		}
	}
	d.errorf(n, "", "%s: expected %s, got %s", f.path, want, describeNode(n))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, f fieldOpts) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "%s: expected a mapping, got %s", f.path, describeNode(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	unknown := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, seen, f.path) {
			continue
		}
		fi, ok := fields.byKey[k.Value]
		if !ok {
			unknown = true
			d.errorf(k, Suggest(k.Value, fields.keys), "unknown key %q in %s (expected one of: %s)", k.Value, orWord(f.path, "mapping"), strings.Join(fields.keys, ", "))
			continue
		}
		d.decode(val, v.FieldByIndex(fi.index), fieldOpts{path: joinPath(f.path, k.Value), shell: fi.shell, asBool: fi.asBool, object: fi.object})
	}
	for _, fi := range fields.list {
		// After an unknown key the missing one is most likely that key misspelled: one
		// error says it all.
		if fi.required && !seen[fi.key] && !unknown && !d.noRequired {
			d.errorf(n, "", "%s: missing required key %q", orWord(f.path, "mapping"), fi.key)
		}
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, f fieldOpts) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "%s: expected a mapping, got %s", f.path, describeNode(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, seen, f.path) {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, fieldOpts{path: joinPath(f.path, k.Value), shell: f.shell})
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

// checkKey rejects non-string and duplicate keys; YAML parsers keep the last duplicate
// silently, which hides exactly the mistakes this tool exists to catch.
func (d *decoder) checkKey(k *yaml.Node, seen map[string]bool, path string) bool {
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, "", "%s: keys must be plain strings", orWord(path, "mapping"))
		return false
	}
	if seen[k.Value] {
		d.errorf(k, "", "duplicate key %q in %s", k.Value, orWord(path, "mapping"))
		return false
	}
	seen[k.Value] = true
	return true
}

// value converts a node into plain Go values (map[string]any, []any, scalars), resolving
// templates inside strings: the shape used for vars, helm values and untyped parameters.
func (d *decoder) value(n *yaml.Node, path string) (any, bool) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		seen := map[string]bool{}
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !d.checkKey(k, seen, path) {
				ok = false
				continue
			}
			val, vok := d.value(n.Content[i+1], joinPath(path, k.Value))
			ok = ok && vok
			m[k.Value] = val
		}
		return m, ok
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		ok := true
		for i, item := range n.Content {
			val, vok := d.value(item, fmt.Sprintf("%s[%d]", path, i))
			ok = ok && vok
			l[i] = val
		}
		return l, ok
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return d.value(n.Content[0], path)
	}
	if d.isTemplate(n) {
		return d.renderTemplate(n, fieldOpts{path: path})
	}
	var out any
	if err := n.Decode(&out); err != nil {
		d.errorf(n, "", "%s: %v", path, err)
		return nil, false
	}
	return out, true
}

// assign stores a value computed by an expression into a typed field, checking its type with
// the same rules as written YAML. The value is marked literal: text that came out of a step's
// output is data, and must never be evaluated as a template.
func (d *decoder) assign(n *yaml.Node, val any, v reflect.Value, f fieldOpts) {
	if v.Kind() == reflect.Interface {
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
		return
	}
	if v.Kind() == reflect.String {
		v.SetString(Stringify(val)) // a list in a message reads as JSON
		return
	}
	var produced yaml.Node
	if err := produced.Encode(val); err != nil {
		d.errorf(n, "", "%s: %v", f.path, err)
		return
	}
	setPositions(&produced, n.Line, n.Column)
	d.literal++
	d.decode(&produced, v, f)
	d.literal--
}

func setPositions(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPositions(c, line, col)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orWord(path, word string) string {
	if path == "" {
		return word
	}
	return path
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	}
	return "a mapping"
}
