package engine

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// memberFunc reads a key or index strictly: a key that is not there is an error, never nil.
// expr-lang gives nil for a missing map key, which would pass a typo (`vars.m.A` for
// `vars.m.a`) on as "nothing" into a loop, a Helm value or an assert.
const memberFunc = "__member"

var strictMemberFunc = expr.Function(memberFunc, func(p ...any) (any, error) { return strictMember(p[0], p[1]) },
	new(func(any, any) any))

// strictMembers routes every member read below the playbook's own names through memberFunc,
// except where the expression guards it (`?.`, the left of `??`) and where a missing field
// is the point: steps.X and its outputs (checked against what the step type declares, with
// their own rules for steps that did not run) and waitFor's object, whose fields appear over
// time.
func strictMembers(root *ast.Node) {
	guarded := guardedMembers(*root)
	ast.Walk(root, visitorFunc(func(node *ast.Node) {
		n, ok := (*node).(*ast.MemberNode)
		if !ok || n.Optional || guarded[n] || !strictBase(n.Node) {
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: memberFunc},
			Arguments: []ast.Node{n.Node, n.Property},
		})
	}))
}

// strictBase reports whether members of n are read strictly: n is a value below vars, item
// or outputs, not one of the names themselves.
func strictBase(n ast.Node) bool {
	root, depth := n, 0
	for {
		switch x := root.(type) {
		case *ast.MemberNode:
			root, depth = x.Node, depth+1
			continue
		case *ast.CallNode:
			if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == memberFunc && len(x.Arguments) == 2 {
				root, depth = x.Arguments[0], depth+1
				continue
			}
		}
		break
	}
	id, ok := root.(*ast.IdentifierNode)
	if !ok {
		return true // a value computed in the expression: fromJSON(...).key
	}
	switch id.Value {
	case "vars", "outputs":
		return depth >= 1 // vars.X and outputs.X are checked at load
	case "item":
		return true
	case "steps", "object":
		return false
	}
	return false
}

func strictMember(base, key any) (any, error) {
	v := reflect.ValueOf(base)
	switch {
	case base == nil:
		return nil, fmt.Errorf("cannot read %s of nothing (nil)", describeKey(key))
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		name, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("a map's keys are strings, not %s", describeKind(key))
		}
		if found := v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key())); found.IsValid() {
			return found.Interface(), nil
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		msg := fmt.Sprintf("no key %q (it has: %s)", name, strings.Join(keys, ", "))
		if len(keys) == 0 {
			msg = fmt.Sprintf("no key %q (the map is empty)", name)
		}
		if s := Suggest(name, keys); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, fmt.Errorf("%s; write ?? 'default' after it, or `%q in ...`, where it may be missing", msg, name)
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array || v.Kind() == reflect.String:
		i, ok := toInt(key)
		if !ok {
			return nil, fmt.Errorf("a list is indexed by a number, not %s", describeKind(key))
		}
		n := v.Len()
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("index %v is out of range (length %d)", key, n)
		}
		if v.Kind() == reflect.String {
			return string(base.(string)[i]), nil
		}
		return v.Index(i).Interface(), nil
	}
	return nil, fmt.Errorf("cannot read %s of %s", describeKey(key), describeKind(base))
}

func describeKey(key any) string {
	if s, ok := key.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("[%v]", key)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

// describeKind names what a value is without showing it: an error may be about a secret.
func describeKind(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, int64, float64:
		return "a number"
	}
	if isList(v) {
		return "a list"
	}
	return "a mapping"
}
