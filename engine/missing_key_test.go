package engine_test

import (
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// A key that is not there is an error wherever it is read, with a did-you-mean: at load where
// the map is known then, at run time otherwise. Only a guard (?? , ?., in) makes it optional.
func TestMissingKeyIsAnError(t *testing.T) {
	vars := "vars:\n  m: {a: \"1\", b: \"2\"}\n"
	cases := []struct{ name, body, want string }{
		{"in a var computed from another", "vars:\n  m: {a: \"1\"}\n  typo: \"${{ vars.m.A }}\"\nsteps:\n  - {name: s, say: {message: \"${{ vars.typo }}\"}}\n",
			`vars.m has no key "A" (it has: a); write ?? 'default' after it where it may be missing; did you mean "a"?`},
		{"as a loop item", vars + "steps:\n  - {name: s, loop: [\"${{ vars.m.A }}\"], say: {message: x}}\n",
			`vars.m has no key "A" (it has: a, b)`},
		{"in an assert", vars + "steps:\n  - {name: s, check: {that: [\"vars.m.A == nil\"]}}\n",
			`vars.m has no key "A" (it has: a, b)`},
		{"deeper", "vars:\n  m: {a: {x: \"1\"}}\nsteps:\n  - {name: s, say: {message: \"${{ vars.m.a.y }}\"}}\n",
			`vars.m.a has no key "y" (it has: x)`},
		{"in a loop's item", "steps:\n  - {name: s, loop: [{name: n}], say: {message: \"${{ item.nmae }}\"}}\n",
			`item.nmae: no key "nmae" (it has: name); did you mean "name"?`},
		{"read by index at run time", vars + "steps:\n  - {name: s, say: {message: \"${{ vars.m[lower('C')] }}\"}}\n",
			`no key "c" (it has: a, b)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := loadAndRunErr(t, header+tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestGuardedMissingKeyIsFine(t *testing.T) {
	pb := mustLoad(t, header+"vars:\n  m: {a: \"1\"}\nsteps:\n  - {name: s, id: s, say: {message: \"${{ vars.m.A ?? 'd' }} ${{ vars.m?.A ?? 'e' }} ${{ 'A' in vars.m }}\"}}\n")
	c := &collect{}
	if _, err := pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{c}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), "\n"); got != "d e false" {
		t.Errorf("got %q", got)
	}
}

func loadAndRunErr(t *testing.T, body string) error {
	t.Helper()
	pb, err := load(t, body)
	if err != nil {
		return err
	}
	_, err = pb.Run(t.Context(), engine.RunOptions{})
	return err
}
