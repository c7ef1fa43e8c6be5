package engine_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// What a newcomer gets wrong is answered where it was made: the whole error text, every
// problem, in the order of the file.
func TestNewcomerMistakesAreAnsweredWhereMade(t *testing.T) {
	cases := []struct {
		name, body string
		vars       []string
		want       string // the whole error, DIR for the directory
	}{
		{"an item indented at the list's -", "steps:\n  - name: a\n    say: {message: hi}\n  - name: b\n  say: {message: x}\n", nil,
			"pb.yaml:8:3: invalid YAML: did not find expected '-' indicator: this line stands at the list's `-` but is not an item: indent it under the item above, or start a new item with -"},
		{"an unquoted ${{ in a flow mapping", "vars: {x: 1}\nsteps:\n  - name: a\n    say: {message: hi}\n  - {name: b, say: {message: ${{ vars.x }}}}\n", nil,
			`pb.yaml:8:30: invalid YAML: did not find expected ',' or '}': a ${{ }} inside {...} or [...] must be quoted: write "${{ ... }}"`},
		{"a bad --var is reported once, not again for what is computed from it", "vars:\n  replicas: 1\n  total: \"${{ vars.replicas + 1 }}\"\n  label: \"n-${{ vars.total }}\"\nsteps:\n  - {name: a, say: {message: \"${{ vars.label }}\"}}\n", []string{"replicas=three"},
			`--var replicas: "three" for replicas, declared as an integer (pb.yaml:5:13): expected an integer, got "three"`},
		{"when: yes", "steps:\n  - {name: a, when: \"yes\", say: {message: x}}\n", nil,
			`pb.yaml:5:22: unknown name "yes" in expression: expressions write booleans as true and false`},
		{"a misspelled value is offered a value, not a function", "vars: {x: 1}\nsteps:\n  - {name: a, when: \"varz.x == 1\", say: {message: x}}\n", nil,
			`pb.yaml:6:22: unknown name "varz" in expression; did you mean "vars"?`},
		{"common keys and parameters, all at once, in the file's order", "steps:\n  - name: a\n    timeout: 5x\n    parallel: two\n    echo: {stdout: x, bogus: 1}\n", nil,
			"pb.yaml:6:14: step.timeout: expected a duration like 30s or 2m, got \"5x\"\npb.yaml:7:15: step.parallel: expected an integer, got \"two\"\npb.yaml:8:23: unknown key \"bogus\" in echo (expected one of: stdout, stderr, exitCode, count, prefix, reads)"},
		{"a var declared ~ must be given", "vars:\n  region: ~\nsteps:\n  - {name: a, say: {message: \"${{ vars.region }}\"}}\n", nil,
			`pb.yaml:7:40: var "region" has no value (it is declared ~, so it must be given): set it with --var region=... or in a vars file (--vars-file)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"pb.yaml": header + tc.body})
			_, err := engine.Load(filepath.Join(dir, "pb.yaml"), engine.LoadOptions{Vars: tc.vars})
			if err == nil {
				t.Fatal("loaded")
			}
			if got := strings.ReplaceAll(err.Error(), dir+"/", ""); got != tc.want {
				t.Errorf("\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// {{ }} that reads like a playbook expression is a warning with the fix; a Go template for
// another tool is left alone.
func TestBareBracesWarn(t *testing.T) {
	pb := mustLoad(t, header+"vars: {env: prod}\nsteps:\n  - {name: a, loop: [x], say: {message: \"deploy {{ vars.env }} {{.Name}} {{ item }} ${{ vars.env }}\"}}\n")
	var got []string
	for _, w := range pb.Warnings {
		got = append(got, w.Msg)
	}
	want := []string{"{{ vars.env }} is text here, not an expression: write ${{ vars.env }} (with the $) to use the value",
		"{{ item }} is text here, not an expression: write ${{ item }} (with the $) to use the value"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
}
