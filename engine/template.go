package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Template is a string with `${{ expr }}` parts. A template that is exactly one expression
// keeps the value's type (a list stays a list), which is how a var feeds a typed parameter.
type Template struct {
	Raw   string
	parts []templatePart
	shell bool // renders to a Script
}

type templatePart struct {
	literal string
	expr    *Expr
	offset  int          // byte offset of the expression source in Raw
	shell   shellContext // where the value stands in a shell script
}

// HasTemplate reports whether s holds any `${{`, so plain strings skip all template work.
func HasTemplate(s string) bool { return strings.Contains(s, "${{") }

// splitTemplate cuts s into literals and expression sources. `$${{` is a literal `${{`.
func splitTemplate(s string) ([]templatePart, []string, *exprError) {
	var parts []templatePart
	var sources []string
	var lit strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${{") {
			lit.WriteString("${{")
			i += 4
			continue
		}
		if !strings.HasPrefix(s[i:], "${{") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		start := i + 3
		end := findTemplateEnd(s, start)
		if end < 0 {
			return nil, nil, &exprError{offset: i, msg: "unclosed ${{ (expected }})"}
		}
		if lit.Len() > 0 {
			parts = append(parts, templatePart{literal: lit.String()})
			lit.Reset()
		}
		src := s[start:end]
		if strings.TrimSpace(src) == "" {
			return nil, nil, &exprError{offset: i, msg: "empty ${{ }}"}
		}
		parts = append(parts, templatePart{offset: start})
		sources = append(sources, src)
		i = end + 2
	}
	if lit.Len() > 0 {
		parts = append(parts, templatePart{literal: lit.String()})
	}
	return parts, sources, nil
}

// findTemplateEnd finds the `}}` closing an expression. Quoted strings are skipped and braces
// counted, so `${{ "}}" }}` and `${{ {'a': {'b': 1}} }}` both work.
func findTemplateEnd(s string, from int) int {
	var quote byte
	depth := 0
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// compileTemplate compiles every ${{ }} of s. In a shell parameter a shell parser tells where
// each one stands, and one that stands where the shell would not expand a variable (in single
// quotes) is an error.
func compileTemplate(s string, scope *Scope, shell bool) (*Template, *exprError) {
	parts, sources, perr := splitTemplate(s)
	if perr != nil {
		return nil, perr
	}
	var substituted strings.Builder
	var placeholders, offsets []int
	n := 0
	for i := range parts {
		if parts[i].literal != "" {
			substituted.WriteString(parts[i].literal)
			continue
		}
		e, err := compileExpr(sources[n], scope, false)
		if err != nil {
			err.offset = parts[i].offset + runeOffsetToByte(sources[n], err.offset)
			return nil, err
		}
		parts[i].expr = e
		placeholders = append(placeholders, substituted.Len())
		offsets = append(offsets, parts[i].offset-3)
		substituted.WriteString("${" + scriptValueEnv(n) + "}")
		n++
	}
	t := &Template{Raw: s, parts: parts, shell: shell}
	if shell && n > 0 {
		contexts, err := shellContexts(substituted.String(), placeholders, offsets)
		if err != nil {
			return nil, err
		}
		n = 0
		for i := range parts {
			if parts[i].expr != nil {
				parts[i].shell = contexts[n]
				n++
			}
		}
	}
	return t, nil
}

func runeOffsetToByte(s string, runes int) int {
	for i := range s {
		if runes == 0 {
			return i
		}
		runes--
	}
	return len(s)
}

// Whole reports whether the template is a single expression with nothing around it.
func (t *Template) Whole() bool { return len(t.parts) == 1 && t.parts[0].expr != nil }

// Runtime reports whether the value depends on step results.
func (t *Template) Runtime() bool {
	for _, p := range t.parts {
		if p.expr != nil && p.expr.Runtime {
			return true
		}
	}
	return false
}

// Exprs returns the compiled expressions, for callers that need their var references.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Render evaluates the template. A template that is exactly one expression keeps the value's
// type, unless it is a shell script, which renders to a Script. A value that is not there
// (nil) inside a longer text is an error, never an empty string: `rm -rf ${{ x }}/*` must not
// become `rm -rf /*`.
func (t *Template) Render(env *Env) (any, error) {
	if t.shell {
		script, err := t.renderScript(env)
		if err != nil {
			return nil, err
		}
		return script, nil
	}
	if t.Whole() {
		return t.parts[0].expr.Eval(env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.literal)
			continue
		}
		v, err := p.value(env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Stringify(v))
	}
	return b.String(), nil
}

func (p templatePart) value(env *Env) (any, error) {
	v, err := p.expr.Eval(env)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("${{ %s }} gives nothing (nil); give a default with ?? 'value' if that is expected", p.expr.Source)
	}
	return v, nil
}

func (t *Template) renderScript(env *Env) (Script, error) {
	w := scriptWriter{mask: env.masker()}
	n := 0
	for _, p := range t.parts {
		if p.expr == nil {
			w.literal(p.literal)
			continue
		}
		v, err := p.value(env)
		if err != nil {
			return Script{}, err
		}
		if err := w.value(n, p.shell, v); err != nil {
			return Script{}, fmt.Errorf("${{ %s }}: %w", p.expr.Source, err)
		}
		n++
	}
	return w.script(), nil
}

// Stringify turns a value into the text a user expects inside a string: scalars as written,
// lists and maps as JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case fmt.Stringer:
		return x.String()
	}
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out)
}
