package engine

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/expr-lang/expr"
	"github.com/kindlab/playbook/internal/valuemap"
	"go.yaml.in/yaml/v3"
)

// helperFuncs are the functions a playbook author gets beyond expr-lang's builtins (which
// already include toJSON/fromJSON, split, trim, keys, filter, ...). Each is declared with a Go
// signature so that a wrong call fails when the playbook loads, not halfway through a run.
var helperFuncs = []expr.Option{
	// A variable that is not set is an error, never "": give the default as a second argument.
	expr.Function("env", func(p ...any) (any, error) {
		if v, ok := os.LookupEnv(p[0].(string)); ok {
			return v, nil
		}
		if len(p) > 1 {
			return p[1], nil
		}
		return nil, fmt.Errorf("environment variable %s is not set; give a default: env(%q, 'value')", p[0], p[0])
	}, new(func(string) string), new(func(string, string) string)),
	expr.Function("semverCompare", func(p ...any) (any, error) {
		a, err := parseSemver(p[0])
		if err != nil {
			return nil, err
		}
		b, err := parseSemver(p[1])
		if err != nil {
			return nil, err
		}
		return a.Compare(b), nil
	}, new(func(string, string) int)),
	expr.Function("semverSatisfies", func(p ...any) (any, error) {
		v, err := parseSemver(p[0])
		if err != nil {
			return nil, err
		}
		c, err := semver.NewConstraint(p[1].(string))
		if err != nil {
			return nil, fmt.Errorf("semverSatisfies: bad constraint %q: %v", p[1], err)
		}
		return c.Check(v), nil
	}, new(func(string, string) bool)),
	expr.Function("regexMatch", func(p ...any) (any, error) {
		re, err := cachedRegexp(p[0].(string))
		if err != nil {
			return nil, err
		}
		return re.MatchString(p[1].(string)), nil
	}, new(func(string, string) bool)),
	expr.Function("regexFind", func(p ...any) (any, error) {
		re, err := cachedRegexp(p[0].(string))
		if err != nil {
			return nil, err
		}
		m := re.FindStringSubmatch(p[1].(string))
		switch {
		case m == nil:
			return nil, nil // nothing matched: nil, so that ?? can give a default
		case len(m) > 1: // the first group is what authors want from "x: (\d+)"
			return m[1], nil
		}
		return m[0], nil
	}, new(func(string, string) string)),
	expr.Function("regexFindAll", func(p ...any) (any, error) {
		re, err := cachedRegexp(p[0].(string))
		if err != nil {
			return nil, err
		}
		found := []any{}
		for _, m := range re.FindAllStringSubmatch(p[1].(string), -1) {
			found = append(found, m[len(m)-1])
		}
		return found, nil
	}, new(func(string, string) []any)),
	expr.Function("regexReplace", func(p ...any) (any, error) {
		re, err := cachedRegexp(p[0].(string))
		if err != nil {
			return nil, err
		}
		return re.ReplaceAllString(p[1].(string), p[2].(string)), nil
	}, new(func(string, string, string) string)),
	expr.Function("fromYAML", func(p ...any) (any, error) {
		var v any
		if err := yaml.Unmarshal([]byte(p[0].(string)), &v); err != nil {
			return nil, fmt.Errorf("fromYAML: %v", err)
		}
		return v, nil
	}, new(func(string) any)),
	expr.Function("toYAML", func(p ...any) (any, error) {
		out, err := yaml.Marshal(p[0])
		return string(out), err
	}, new(func(any) string)),
	expr.Function("merge", func(p ...any) (any, error) {
		out := map[string]any{}
		for i, m := range p {
			mm, ok := m.(map[string]any)
			if !ok && m != nil {
				return nil, fmt.Errorf("merge: argument %d is %T, not a map", i+1, m)
			}
			valuemap.Merge(out, mm)
		}
		return out, nil
	}, new(func(...any) map[string]any)),
	expr.Function("lines", func(p ...any) (any, error) { return splitLines(p[0].(string)), nil },
		new(func(string) []any)),
	expr.Function(outputsFunc, func(p ...any) (any, error) { return stepOutputs(p[0], p[1], false) },
		new(func(map[string]any, any) any)),
	expr.Function(outputsOrNilFunc, func(p ...any) (any, error) { return stepOutputs(p[0], p[1], true) },
		new(func(map[string]any, any) any)),
	strictMemberFunc,
	expr.Function("shellQuote", func(p ...any) (any, error) { return ShellQuote(fmt.Sprint(p[0])), nil },
		new(func(any) string)),
}

func parseSemver(v any) (*semver.Version, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	parsed, err := semver.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a semantic version", s)
	}
	return parsed, nil
}

var regexpCache sync.Map

func cachedRegexp(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexpCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression %q: %v", pattern, err)
	}
	regexpCache.Store(pattern, re)
	return re, nil
}

func splitLines(s string) []any {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return []any{}
	}
	parts := strings.Split(s, "\n")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSuffix(p, "\r")
	}
	return out
}

// isList tells whether v can be looped over.
func isList(v any) bool {
	if v == nil {
		return false
	}
	k := reflect.TypeOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

func listItems(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	rv := reflect.ValueOf(v)
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}
