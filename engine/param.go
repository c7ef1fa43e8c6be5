package engine

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kindlab/playbook/model"
	"go.yaml.in/yaml/v3"
)

// Duration is a Go duration written as text ("30s", "2m").
type Duration struct{ time.Duration }

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

var (
	durationType = reflect.TypeOf(Duration{})
	scriptType   = reflect.TypeOf(Script{})
	anyType      = reflect.TypeOf((*any)(nil)).Elem()
)

// param is one parameter as the plan holds it: decoded when the file and the vars decide it,
// or a compiled template that the run fills in. Either way it keeps where it was written.
// Composites (structs, lists, maps) with a template somewhere below hold their parts.
type param struct {
	file  string
	at    *yaml.Node
	path  string
	typ   reflect.Type
	value reflect.Value // valid when known at load
	shown any           // what `plan` shows: the value, or the template's source
	tmpl  *Template     // filled in at run time
	// for composites holding templates below:
	fields []fieldParam // struct
	items  []*param     // list, or a pointer's one element
	keys   []string     // map keys, with items in the same order
}

type fieldParam struct {
	index []int
	p     *param
}

// known reports whether the value was decided at load.
func (p *param) known() bool { return p.value.IsValid() }

type fieldOpts struct {
	path    string
	shell   bool // a shell script: ${{ }} values reach the shell through the environment
	asBool  bool // bare expressions must yield a bool
	object  bool // bare expressions may use `object`
	literal bool // a value an expression produced: its text is data, never a template
}

// paramCompiler decodes YAML into typed parameters, strictly, reporting every problem at its
// file:line:col. Templates that need only vars are filled in now; those that need what steps
// produce become params to fill in at run time.
type paramCompiler struct {
	file  string
	scope *Scope
	vars  *Env // vars only
	diags *Diagnostics
	// seen is told of every expression compiled, with the node it was written in.
	seen func(*yaml.Node, *Expr)
	// lines are the file's text, to place errors inside block scalars (| and >).
	lines []string
}

func (c *paramCompiler) saw(n *yaml.Node, exprs ...*Expr) {
	if c.seen != nil {
		for _, e := range exprs {
			c.seen(n, e)
		}
	}
}

func (c *paramCompiler) errorf(n *yaml.Node, suggestion, format string, args ...any) {
	*c.diags = append(*c.diags, model.At(c.file, n, suggestion, format, args...))
}

// exprErrorAt places an expression error at its column inside the YAML scalar.
func (c *paramCompiler) exprErrorAt(n *yaml.Node, byteOffset int, e *exprError) {
	line, col := n.Line, n.Column
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	before := n.Value[:min(max(byteOffset, 0), len(n.Value))]
	if nl := strings.Count(before, "\n"); nl > 0 || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line += nl
		indent := 0
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++
			// A block scalar's text starts at its indentation, which only the file knows.
			if n.Line < len(c.lines) {
				first := c.lines[n.Line]
				indent = len(first) - len(strings.TrimLeft(first, " "))
			}
		}
		col = 1 + indent + len([]rune(before[strings.LastIndex(before, "\n")+1:]))
	} else {
		col += len([]rune(before))
	}
	*c.diags = append(*c.diags, Diagnostic{File: c.file, Line: line, Col: col, Msg: e.msg, Suggestion: e.suggestion})
}

func isTemplateNode(n *yaml.Node, f fieldOpts) bool {
	return !f.literal && n.Kind == yaml.ScalarNode && n.Tag == "!!str" && HasTemplate(n.Value)
}

func (c *paramCompiler) template(n *yaml.Node, f fieldOpts) *Template {
	t, err := compileTemplate(n.Value, c.scope, f.shell)
	if err != nil {
		c.exprErrorAt(n, err.offset, err)
		return nil
	}
	c.saw(n, t.Exprs()...)
	return t
}

// bareExpr compiles a parameter that is an expression itself (assert's that, when).
func (c *paramCompiler) bareExpr(n *yaml.Node, f fieldOpts) *Expr {
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, "", "%s: expected an expression, got %s", f.path, model.Describe(n))
		return nil
	}
	src := n.Value
	offset := 0
	// Authors often wrap bare expressions in ${{ }} out of habit; accept it.
	if t := strings.TrimSpace(src); strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") && strings.Count(t, "${{") == 1 {
		offset = strings.Index(src, "${{") + 3
		src = t[3 : len(t)-2]
	}
	scope := c.scope
	if f.object {
		withObject := *scope
		withObject.Object = true
		scope = &withObject
	}
	e, err := compileExpr(src, scope, f.asBool)
	if err != nil {
		c.exprErrorAt(n, offset+runeOffsetToByte(src, err.offset), err)
		return nil
	}
	c.saw(n, e)
	// A bool expression that needs only vars is decided now: `when: vars.name` on a string
	// var fails here, at its place, not halfway through the run.
	if f.asBool && !e.Runtime && c.vars != nil {
		// Compiled as a bool it could only say "bool(string)": evaluate it as written.
		plain, _ := compileExpr(src, scope, false)
		if plain == nil {
			plain = e
		}
		if v, err := plain.Eval(c.vars); err != nil {
			c.errorf(n, "", "%s: %v", f.path, err)
			return nil
		} else if _, ok := v.(bool); !ok {
			c.errorf(n, "", "%s: expected true or false, but %s gives %s", f.path, e.Source, describeValue(c.vars.masker(), v))
			return nil
		}
	}
	return e
}

// bareBraces finds {{ }} that read like a playbook expression without its $: the habit from
// GitHub Actions, Helm and Ansible. Go templates for other tools ({{.Name}}) do not match.
var bareBraces = regexp.MustCompile(`(^|[^$])\{\{\s*((?:vars|steps)\.[^}]*|item\b[^}]*|index\s*|env\([^}]*)\}\}`)

// warnBareBraces warns where {{ }} would have been meant as ${{ }}: it passes as text.
func (c *paramCompiler) warnBareBraces(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || !strings.Contains(n.Value, "{{") {
		return
	}
	for _, m := range bareBraces.FindAllStringSubmatchIndex(n.Value, -1) {
		expr := strings.TrimSpace(n.Value[m[4]:m[5]])
		d := model.At(c.file, n, "", "{{ %s }} is text here, not an expression: write ${{ %s }} (with the $) to use the value", expr, expr)
		d.Severity = model.Warning
		*c.diags = append(*c.diags, d)
	}
}

// compile decodes n into a param of type t.
func (c *paramCompiler) compile(n *yaml.Node, t reflect.Type, f fieldOpts) *param {
	n = model.Resolve(n)
	if !f.literal {
		c.warnBareBraces(n)
	}
	p := &param{file: c.file, at: n, path: f.path, typ: t}
	switch {
	case t == exprPtrType:
		if f.literal {
			c.errorf(n, "", "%s: expected an expression, got a value computed by one", f.path)
			return nil
		}
		e := c.bareExpr(n, f)
		if e == nil {
			return nil
		}
		return p.set(reflect.ValueOf(e), e.Source)
	case isTemplateNode(n, f):
		tmpl := c.template(n, f)
		if tmpl == nil {
			return nil
		}
		if tmpl.Runtime() {
			p.tmpl, p.shown = tmpl, n.Value
			return p
		}
		v, err := tmpl.Render(c.vars)
		if err != nil {
			c.errorf(n, "", "%s: %v", f.path, err)
			return nil
		}
		value, ds := decodeProduced(c.file, n, v, t, f)
		if len(ds) > 0 {
			*c.diags = append(*c.diags, ds...)
			return nil
		}
		if t == scriptType {
			return p.set(value, n.Value) // the script as written: its values show where they go
		}
		return p.set(value, v)
	case model.IsNull(n) && t.Kind() != reflect.Interface:
		return p.set(reflect.Zero(t), nil)
	case t == scriptType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			c.errorf(n, "", "%s: expected a script (text), got %s", f.path, model.Describe(n))
			return nil
		}
		return p.set(reflect.ValueOf(Script{Text: n.Value}), n.Value)
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			c.errorf(n, "", "%s: expected a duration like 30s or 2m, got %s", f.path, model.Describe(n))
			return nil
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil || d < 0 {
			c.errorf(n, "", "%s: expected a duration like 30s or 2m, got %q", f.path, n.Value)
			return nil
		}
		return p.set(reflect.ValueOf(Duration{d}), n.Value)
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := c.compile(n, t.Elem(), f)
		if elem == nil {
			return nil
		}
		if elem.known() {
			ptr := reflect.New(t.Elem())
			ptr.Elem().Set(elem.value)
			return p.set(ptr, elem.shown)
		}
		p.items, p.shown = []*param{elem}, elem.shown
		return p
	case reflect.Struct:
		return c.structParam(p, n, f)
	case reflect.Map:
		return c.mapParam(p, n, f)
	case reflect.Slice:
		return c.listParam(p, n, f)
	case reflect.Interface:
		return c.anyParam(p, n, f)
	}
	v := reflect.New(t).Elem()
	if !c.scalar(n, v, f) {
		return nil
	}
	shown := v.Interface()
	if t.Kind() == reflect.String {
		shown = n.Value
	}
	return p.set(v, shown)
}

func (p *param) set(v reflect.Value, shown any) *param {
	p.value, p.shown = v, shown
	return p
}

func (c *paramCompiler) scalar(n *yaml.Node, v reflect.Value, f fieldOpts) bool {
	want := describeType(v.Type())
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, "", "%s: expected %s, got %s", f.path, want, model.Describe(n))
		return false
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value) // raw text: "1.20" stays "1.20" in a string field
		return true
	case reflect.Bool:
		// The one rule for text (boolText): true or false, quoted or not.
		if b, ok := boolText(n.Value); ok && (n.Tag == "!!bool" || n.Tag == "!!str") {
			v.SetBool(b)
			return true
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		// A quoted number is a number, as in vars files: "3" for retry.attempts.
		if n.Tag == "!!int" || n.Tag == "!!str" {
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				v.SetInt(i)
				return true
			}
		}
		// A float with nothing after the point is an integer: expressions give 3.0 for 3.
		if n.Tag == "!!float" {
			if fl, err := strconv.ParseFloat(n.Value, 64); err == nil && fl == float64(int64(fl)) {
				v.SetInt(int64(fl))
				return true
			}
		}
	case reflect.Float64:
		if n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!str" {
			if fl, err := strconv.ParseFloat(n.Value, 64); err == nil {
				v.SetFloat(fl)
				return true
			}
		}
	}
	c.errorf(n, "", "%s: expected %s, got %s", f.path, want, model.Describe(n))
	return false
}

func (c *paramCompiler) structParam(p *param, n *yaml.Node, f fieldOpts) *param {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "", "%s: expected a mapping, got %s", f.path, model.Describe(n))
		return nil
	}
	fields := structFields(p.typ)
	seen := map[string]bool{}
	unknown, ok := false, true
	shown := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !c.checkKey(k, seen, f.path) {
			ok = false
			continue
		}
		fi, found := fields.byKey[k.Value]
		if !found {
			unknown, ok = true, false
			c.errorf(k, Suggest(k.Value, fields.keys), "unknown key %q in %s (expected one of: %s)", k.Value, orWord(f.path, "mapping"), strings.Join(fields.keys, ", "))
			continue
		}
		fp := c.compile(val, fi.typ, fieldOpts{path: joinPath(f.path, k.Value), shell: fi.shell, asBool: fi.asBool, object: fi.object, literal: f.literal})
		if fp == nil {
			ok = false
			continue
		}
		p.fields = append(p.fields, fieldParam{index: fi.index, p: fp})
		shown[k.Value] = fp.shown
	}
	for _, fi := range fields.list {
		// After an unknown key the missing one is most likely that key misspelled: one
		// error says it all.
		if fi.required && !seen[fi.key] && !unknown {
			ok = false
			c.errorf(n, "", "%s: missing required key %q", orWord(f.path, "mapping"), fi.key)
		}
	}
	return p.done(ok, shown)
}

// done ends a composite: nil when a part was wrong, else known when every part is.
func (p *param) done(ok bool, shown any) *param {
	if !ok {
		return nil
	}
	p.shown = shown
	return p.fold()
}

func (c *paramCompiler) mapParam(p *param, n *yaml.Node, f fieldOpts) *param {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "", "%s: expected a mapping, got %s", f.path, model.Describe(n))
		return nil
	}
	seen := map[string]bool{}
	ok := true
	shown := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !c.checkKey(k, seen, f.path) {
			ok = false
			continue
		}
		ep := c.compile(val, p.typ.Elem(), fieldOpts{path: joinPath(f.path, k.Value), shell: f.shell, literal: f.literal})
		if ep == nil {
			ok = false
			continue
		}
		p.keys, p.items = append(p.keys, k.Value), append(p.items, ep)
		shown[k.Value] = ep.shown
	}
	return p.done(ok, shown)
}

func (c *paramCompiler) listParam(p *param, n *yaml.Node, f fieldOpts) *param {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "", "%s: expected a list, got %s", f.path, model.Describe(n))
		return nil
	}
	ok := true
	shown := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		ip := c.compile(item, p.typ.Elem(), fieldOpts{path: fmt.Sprintf("%s[%d]", f.path, i), shell: f.shell, asBool: f.asBool, object: f.object, literal: f.literal})
		if ip == nil {
			ok = false
			continue
		}
		p.items = append(p.items, ip)
		shown = append(shown, ip.shown)
	}
	return p.done(ok, shown)
}

// anyParam is an untyped value (vars, Helm values, a loop): plain maps, lists and scalars.
func (c *paramCompiler) anyParam(p *param, n *yaml.Node, f fieldOpts) *param {
	switch n.Kind {
	case yaml.MappingNode:
		p.typ = reflect.TypeOf(map[string]any{})
		return c.mapParam(p, n, f)
	case yaml.SequenceNode:
		p.typ = reflect.TypeOf([]any{})
		return c.listParam(p, n, f)
	}
	var out any
	if err := n.Decode(&out); err != nil {
		c.errorf(n, "", "%s: %v", f.path, err)
		return nil
	}
	if out == nil {
		return p.set(reflect.Zero(anyType), nil)
	}
	return p.set(reflect.ValueOf(out), out)
}

// fold turns a composite whose parts are all known into a known value.
func (p *param) fold() *param {
	parts := p.items
	for _, f := range p.fields {
		parts = append(parts, f.p)
	}
	for _, part := range parts {
		if !part.known() {
			return p
		}
	}
	v, err := p.build(nil)
	if err != nil {
		return p // cannot happen: every part is known
	}
	p.value = v
	p.fields, p.items, p.keys = nil, nil, nil
	return p
}

// bind returns the parameter's value: decided at load, or filled in now from env.
func (p *param) bind(env *Env) (reflect.Value, error) {
	if p.known() {
		return p.value, nil
	}
	if p.tmpl != nil {
		v, err := p.tmpl.Render(env)
		if err != nil {
			return reflect.Value{}, model.At(p.file, p.at, "", "%s: %v", p.path, err)
		}
		value, ds := decodeProduced(p.file, p.at, v, p.typ, fieldOpts{path: p.path})
		if len(ds) > 0 {
			return reflect.Value{}, ds[0]
		}
		return value, nil
	}
	return p.build(env)
}

// build assembles a composite from its parts.
func (p *param) build(env *Env) (reflect.Value, error) {
	switch p.typ.Kind() {
	case reflect.Struct:
		v := reflect.New(p.typ).Elem()
		for _, f := range p.fields {
			fv, err := f.p.bind(env)
			if err != nil {
				return reflect.Value{}, err
			}
			setValue(v.FieldByIndex(f.index), fv)
		}
		return v, nil
	case reflect.Pointer:
		elem, err := p.items[0].bind(env)
		if err != nil {
			return reflect.Value{}, err
		}
		ptr := reflect.New(p.typ.Elem())
		setValue(ptr.Elem(), elem)
		return ptr, nil
	case reflect.Slice:
		v := reflect.MakeSlice(p.typ, len(p.items), len(p.items))
		for i, item := range p.items {
			iv, err := item.bind(env)
			if err != nil {
				return reflect.Value{}, err
			}
			setValue(v.Index(i), iv)
		}
		return v, nil
	case reflect.Map:
		v := reflect.MakeMapWithSize(p.typ, len(p.items))
		for i, item := range p.items {
			iv, err := item.bind(env)
			if err != nil {
				return reflect.Value{}, err
			}
			if !iv.IsValid() {
				iv = reflect.Zero(p.typ.Elem())
			}
			v.SetMapIndex(reflect.ValueOf(p.keys[i]).Convert(p.typ.Key()), iv)
		}
		return v, nil
	}
	return reflect.Value{}, fmt.Errorf("%s: cannot build a %s", p.path, p.typ)
}

func setValue(dst, v reflect.Value) {
	if v.IsValid() {
		dst.Set(v)
	}
}

// decodeProduced stores a value an expression computed into a typed field, checking it with
// the same rules as written YAML: a list where a list belongs, an integer where one does. Its
// text is data: a string that looks like ${{ }} is never evaluated again.
func decodeProduced(file string, at *yaml.Node, val any, t reflect.Type, f fieldOpts) (reflect.Value, Diagnostics) {
	if t.Kind() == reflect.Interface {
		if val == nil {
			return reflect.Zero(t), nil
		}
		return reflect.ValueOf(val), nil
	}
	if val == nil {
		return reflect.Value{}, Diagnostics{model.At(file, at, "", "%s: expected %s, but the expression gives nothing (nil); give a default with ?? 'value' if that is expected", f.path, describeType(t))}
	}
	if t == scriptType {
		if script, ok := val.(Script); ok {
			return reflect.ValueOf(script), nil
		}
		return reflect.ValueOf(Script{Text: Stringify(val)}), nil
	}
	if t.Kind() == reflect.String {
		return reflect.ValueOf(Stringify(val)).Convert(t), nil // a list in a message reads as JSON
	}
	var produced yaml.Node
	if err := produced.Encode(val); err != nil {
		return reflect.Value{}, Diagnostics{model.At(file, at, "", "%s: %v", f.path, err)}
	}
	setPositions(&produced, at.Line, at.Column)
	var diags Diagnostics
	c := &paramCompiler{file: file, scope: &Scope{}, diags: &diags}
	f.literal = true
	p := c.compile(&produced, t, f)
	if p == nil {
		return reflect.Value{}, diags
	}
	return p.value, nil
}

func setPositions(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPositions(c, line, col)
	}
}

// checkKey rejects non-string and duplicate keys; YAML parsers keep the last duplicate
// silently, which hides exactly the mistakes this tool exists to catch.
func (c *paramCompiler) checkKey(k *yaml.Node, seen map[string]bool, path string) bool {
	if k.Kind != yaml.ScalarNode {
		c.errorf(k, "", "%s: keys must be plain strings", orWord(path, "mapping"))
		return false
	}
	if seen[k.Value] {
		c.errorf(k, "", "duplicate key %q in %s", k.Value, orWord(path, "mapping"))
		return false
	}
	seen[k.Value] = true
	return true
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
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	if t == durationType {
		return "a duration like 30s or 2m"
	}
	return "a mapping"
}

// describeValue says what an expression gave, for "expected X, but ... gives Y".
func describeValue(m *Masker, v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprint(x)
	case int, int64, float64:
		return fmt.Sprintf("the number %v", x)
	}
	kind := "a mapping"
	if isList(v) {
		kind = "a list"
	}
	return kind + " " + m.Shorten(Stringify(v), 80)
}
