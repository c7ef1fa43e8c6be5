package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Masker hides secret values in everything the engine shows or stores: events (every text
// field), plan output, the state file, JUnit, errors. It works on values, never on their JSON
// text, so a value with & < > " is found as it is, not in one escaped form only. Values
// computed from a secret while the run goes are added to it (Add): it is shared, and locked.
type Masker struct {
	mu      sync.RWMutex
	secrets []string // longest first, so that a secret holding another is masked whole
	// forms are the secrets and the spellings tools print them in, longest first: escaped
	// (Go's %q, JSON, URLs), base64 at each alignment, and each line of a multi-line one.
	forms []string
}

// Mask is what a secret becomes.
const Mask = "***"

// NewMasker masks the given values; those shorter than secretMinLen are left alone (masking
// a two-letter value would blank out those letters everywhere).
func NewMasker(values ...string) *Masker {
	return (&Masker{}).With(values...)
}

// With returns a masker that also masks values.
func (m *Masker) With(values ...string) *Masker {
	out := &Masker{}
	if m != nil {
		m.mu.RLock()
		out.secrets = append(out.secrets, m.secrets...)
		out.forms = append(out.forms, m.forms...)
		m.mu.RUnlock()
	}
	out.add(values)
	return out
}

// Add masks values from now on, in this masker and so in every event, report and state
// write that goes through it.
func (m *Masker) Add(values ...string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.add(values)
}

func (m *Masker) add(values []string) {
	added := false
	for _, v := range values {
		if len(v) >= secretMinLen && !slices.Contains(m.secrets, v) {
			m.secrets = append(m.secrets, v)
			for _, form := range secretForms(v) {
				if !slices.Contains(m.forms, form) {
					m.forms = append(m.forms, form)
				}
			}
			added = true
		}
	}
	if added {
		sort.SliceStable(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
		sort.SliceStable(m.forms, func(i, j int) bool { return len(m.forms[i]) > len(m.forms[j]) })
	}
}

// AddComputed masks the text of a value an expression computed from a secret: the value
// itself and every string inside a list or map.
func (m *Masker) AddComputed(v any) {
	var texts []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			texts = append(texts, x)
		case []any:
			for _, item := range x {
				walk(item)
			}
		case []string:
			texts = append(texts, x...)
		case map[string]any:
			for _, item := range x {
				walk(item)
			}
		}
	}
	walk(v)
	m.Add(texts...)
}

// secretForms are the spellings of a secret that tools print: as it is, escaped for Go, JSON
// and URLs, with CRLF line ends, base64 (standard and URL) at each of the three alignments
// it can have inside a longer encoded text, and each line of a multi-line secret alone (a
// key re-indented by Helm's nindent). Forms shorter than secretMinLen are left out.
func secretForms(v string) []string {
	quoted := strconv.Quote(v)
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	_ = enc.Encode(v)
	html := strings.TrimSpace(js.String())
	js.Reset()
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	plain := strings.TrimSpace(js.String())
	forms := []string{v, quoted[1 : len(quoted)-1], html[1 : len(html)-1], plain[1 : len(plain)-1],
		url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(v, "\n", "\r\n")}
	for skip := range 3 {
		if len(v)-skip < 3 {
			break
		}
		// Only whole 3-byte groups encode the same wherever the secret stands.
		whole := v[skip : skip+(len(v)-skip)/3*3]
		forms = append(forms, base64.RawStdEncoding.EncodeToString([]byte(whole)), base64.RawURLEncoding.EncodeToString([]byte(whole)))
	}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			forms = append(forms, strings.TrimSpace(line))
		}
	}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= secretMinLen && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (m *Masker) longestForm() int {
	if m == nil {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.forms) == 0 {
		return 0
	}
	return len(m.forms[0])
}

// Shorten masks s, then cuts it to at most max runes: cutting first could keep a secret's
// start, which no longer matches the whole secret. Every place that shortens text for a
// person uses it.
func (m *Masker) Shorten(s string, max int) string {
	s = m.String(s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

// Active reports whether there is anything to mask.
func (m *Masker) Active() bool {
	if m == nil {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.secrets) > 0
}

// String masks s.
func (m *Masker) String(s string) string {
	if !m.Active() {
		return s
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.forms {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// Strings masks each string of list, in place.
func (m *Masker) Strings(list []string) []string {
	if !m.Active() {
		return list
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = m.String(s)
	}
	return out
}

// Value returns v with every string inside it (map keys included) masked. v itself is never
// changed: the values steps pass to each other stay real.
func (m *Masker) Value(v any) any {
	if !m.Active() {
		return v
	}
	masked, _ := m.value(v)
	return masked
}

// Holds reports whether a secret shows anywhere in v.
func (m *Masker) Holds(v any) bool {
	if !m.Active() {
		return false
	}
	_, changed := m.value(v)
	return changed
}

func (m *Masker) value(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		s := m.String(x)
		return s, s != x
	case []any:
		out := make([]any, len(x))
		changed := false
		for i, item := range x {
			var c bool
			out[i], c = m.value(item)
			changed = changed || c
		}
		return out, changed
	case []string:
		out := m.Strings(x)
		for i := range x {
			if out[i] != x[i] {
				return out, true
			}
		}
		return out, false
	case map[string]any:
		out := make(map[string]any, len(x))
		changed := false
		for k, item := range x {
			mk := m.String(k)
			var c bool
			out[mk], c = m.value(item)
			changed = changed || c || mk != k
		}
		return out, changed
	case []map[string]any:
		list := make([]any, len(x))
		for i := range x {
			list[i] = x[i]
		}
		return m.value(list)
	}
	return v, false
}

// Event masks every text of an event: each string field (found by reflection, so that a
// field added later is masked too), the output lines, the outputs and the diagnostics.
func (m *Masker) Event(e Event) Event {
	if !m.Active() {
		return e
	}
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			f.SetString(m.String(f.String()))
		case f.Type() == stringsType:
			f.Set(reflect.ValueOf(m.Strings(f.Interface().([]string))))
		}
	}
	if e.Outputs != nil {
		e.Outputs = m.Value(e.Outputs)
	}
	if e.Params != nil {
		e.Params = m.Value(e.Params)
	}
	if len(e.Diagnostics) > 0 {
		ds := append([]Diagnostic(nil), e.Diagnostics...)
		for i := range ds {
			ds[i].Msg, ds[i].File = m.String(ds[i].Msg), m.String(ds[i].File)
		}
		e.Diagnostics = ds
	}
	return e
}

var stringsType = reflect.TypeOf([]string(nil))

// Error keeps an error's type (for errors.As) while showing its text masked.
func (m *Masker) Error(err error) error {
	if err == nil || !m.Active() {
		return err
	}
	masked := m.String(err.Error())
	if masked == err.Error() {
		return err
	}
	return &maskedError{err: err, text: masked}
}

type maskedError struct {
	err  error
	text string
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

// holdBack is how many bytes at the end of text could be the start of a secret, which a
// stream must keep until more arrives.
func (m *Masker) holdBack(text []byte) int {
	if !m.Active() {
		return 0
	}
	hold := 0
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.forms {
		for n := min(len(s)-1, len(text)); n > hold; n-- {
			if string(text[len(text)-n:]) == s[:n] {
				hold = n
				break
			}
		}
	}
	return hold
}

// holdFront is how many bytes at the start of text could be the end of a secret whose start
// was cut away, which must not be shown either.
func (m *Masker) holdFront(text []byte) int {
	if !m.Active() {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	hold := 0
	for _, s := range m.forms {
		for n := min(len(s)-1, len(text)); n > hold; n-- {
			if string(text[:n]) == s[len(s)-n:] {
				hold = n
				break
			}
		}
	}
	return hold
}

// straddle moves a cut point back to the start of any secret that crosses it, so that no
// secret is shown half on each side.
func (m *Masker) straddle(text []byte, cut int) int {
	if !m.Active() {
		return cut
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for moved := true; moved; {
		moved = false
		for _, secret := range m.forms {
			from := max(0, cut-len(secret)+1)
			if i := strings.Index(string(text[from:min(len(text), cut+len(secret)-1)]), secret); i >= 0 && from+i < cut {
				cut, moved = from+i, true
			}
		}
	}
	return cut
}
