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
}

type templatePart struct {
	literal string
	expr    *Expr
	offset  int // byte offset of the expression source in Raw
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

func compileTemplate(s string, scope *Scope) (*Template, *exprError) {
	parts, sources, perr := splitTemplate(s)
	if perr != nil {
		return nil, perr
	}
	n := 0
	for i := range parts {
		if parts[i].literal != "" {
			continue
		}
		e, err := compileExpr(sources[n], scope, false)
		if err != nil {
			err.offset = parts[i].offset + runeOffsetToByte(sources[n], err.offset)
			return nil, err
		}
		parts[i].expr = e
		n++
	}
	return &Template{Raw: s, parts: parts}, nil
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

// Render evaluates the template. quote, when set, is applied to each interpolated value (the
// shell parameter uses it so that a value is always one shell word).
func (t *Template) Render(env *Env, quote func(string) string) (any, error) {
	if t.Whole() && quote == nil {
		return t.parts[0].expr.Eval(env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.literal)
			continue
		}
		v, err := p.expr.Eval(env)
		if err != nil {
			return nil, err
		}
		b.WriteString(interpolate(v, quote))
	}
	return b.String(), nil
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

// interpolate turns a value into template text. With quoting (shell:), a list becomes one
// quoted word per element, so `apt-get install ${{ vars.packages }}` gets separate arguments.
func interpolate(v any, quote func(string) string) string {
	if quote == nil {
		return Stringify(v)
	}
	if isList(v) {
		items := listItems(v)
		words := make([]string, len(items))
		for i, item := range items {
			words[i] = quote(Stringify(item))
		}
		return strings.Join(words, " ")
	}
	return quote(Stringify(v))
}
