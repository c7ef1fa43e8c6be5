package engine

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// explain evaluates each name (and member chain) in the expression on its own, so that
// `steps.svc.outputs.object.spec.ports[0].nodePort == 32000` fails with what that path held.
func (e *Expr) explain(env *Env) []string {
	var subs []string
	seen := map[string]bool{}
	var collect func(n ast.Node)
	collect = func(n ast.Node) {
		switch n := n.(type) {
		case *ast.MemberNode, *ast.IdentifierNode:
			s := n.String()
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
			if m, ok := n.(*ast.MemberNode); ok {
				if _, literal := m.Property.(*ast.StringNode); !literal {
					collect(m.Property)
				}
			}
		case *ast.ChainNode:
			collect(n.Node)
		case *ast.BinaryNode:
			collect(n.Left)
			collect(n.Right)
		case *ast.UnaryNode:
			collect(n.Node)
		case *ast.CallNode:
			for _, a := range n.Arguments {
				collect(a)
			}
		case *ast.BuiltinNode:
			for _, a := range n.Arguments {
				collect(a)
			}
		case *ast.ConditionalNode:
			collect(n.Cond)
			collect(n.Exp1)
			collect(n.Exp2)
		case *ast.ArrayNode:
			for _, a := range n.Nodes {
				collect(a)
			}
		case *ast.SliceNode:
			collect(n.Node)
		}
	}
	// The source as written, not the compiled tree: that one reads outputs through a
	// function (the outputs patch), which is no name the author wrote.
	tree, err := parser.Parse(e.Source)
	if err != nil {
		return nil
	}
	collect(tree.Node)
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		program, err := expr.Compile(s, exprOptions()...)
		if err != nil {
			continue
		}
		v, err := expr.Run(program, env)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", s, err))
			continue
		}
		out = append(out, fmt.Sprintf("%s = %s", s, describeForHumans(env.mask, v)))
	}
	return out
}

func describeForHumans(m *Masker, v any) string {
	s := Stringify(v)
	if _, isString := v.(string); isString {
		s = fmt.Sprintf("%q", s)
	}
	return m.Shorten(s, 300)
}
