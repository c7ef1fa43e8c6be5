package engine_test

import (
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// Expressions are checked through what a playbook sees: a log message renders them.
func TestTemplates(t *testing.T) {
	cases := []struct {
		name, message, want string
	}{
		{"plain text", "hello", "hello"},
		{"interpolation", "cluster ${{ vars.name }} has ${{ vars.workers }} workers", "cluster demo has 2 workers"},
		{"list in a string is JSON", "${{ vars.list }} ", `["a","b"] `},
		{"escaped", "$${{ not an expression }}", "${{ not an expression }}"},
		{"braces inside a string literal", `${{ "}}" + vars.name }}`, "}}demo"},
		{"nested map literals", "${{ {'a': {'b': vars.name}}.a.b }}", "demo"},
		{"merge is deep", "${{ merge({'a': {'x': 1, 'y': 2}}, {'a': {'y': 3}}, {'b': true}) }} ", `{"a":{"x":1,"y":3},"b":true} `},
		{"semverCompare", "${{ semverCompare(vars.version, '1.14.0') }}", "-1"},
		{"semverSatisfies", "${{ semverSatisfies(vars.version, '>= 1.13.0-0, < 1.14') }}", "true"},
		{"regexMatch", "${{ regexMatch('^v1\\\\.2[0-9]', 'v1.23.4') }}", "true"},
		{"regexFind first group", "${{ regexFind('Host Routing:\\\\s+(\\\\w+)', 'Host Routing:   BPF') }}", "BPF"},
		{"regexFindAll", "${{ regexFindAll('(\\\\d+)', 'a1 b22 c333') }}", `["1","22","333"]`},
		{"regexReplace", "${{ regexReplace('o+', 'foo boo', '0') }}", "f0 b0"},
		{"fromJSON builtin", `${{ fromJSON('{"mode":"Strict"}').mode }}`, "Strict"},
		{"fromYAML", "${{ fromYAML('a: {b: 3}').a.b }}", "3"},
		{"toYAML", "${{ toYAML({'a': 1}) }}", "a: 1\n"},
		{"lines drops trailing blank lines", "${{ len(lines('a\\nb\\n\\n')) }}", "2"},
		{"shellQuote", "${{ shellQuote(\"it's; rm -rf /\") }}", `'it'\''s; rm -rf /'`},
		{"shellQuote plain word", "${{ shellQuote('simple-word_1.2') }}", "simple-word_1.2"},
		{"env", "${{ env('PLAYBOOK_TEST_ENV') }}", "from-env"},
		{"range", "${{ 1..vars.workers }}", "[1,2]"},
	}
	t.Setenv("PLAYBOOK_TEST_ENV", "from-env")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := header + "vars: {name: demo, workers: 2, list: [a, b], version: 1.13.0-rc5}\nsteps:\n  - name: s\n    say:\n      message: |-\n        " + tc.message + "\n"
			if tc.name == "toYAML" {
				body = header + "steps:\n  - name: s\n    say:\n      message: \"" + tc.message + "\"\n"
			}
			pb := mustLoad(t, body)
			c, _, err := run(t, pb, engine.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, l := range c.lines() {
				if i > 0 {
					got += "\n"
				}
				got += l
			}
			if tc.name == "toYAML" {
				got += "\n" // the line writer splits the trailing newline off
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A string that is exactly one ${{ }} keeps the value's type, so a var can feed a typed
// parameter (a list into a list, a number into an integer).
func TestWholeTemplateKeepsType(t *testing.T) {
	pb := mustLoad(t, header+"vars: {words: [a, b], n: 3}\nsteps:\n  - name: s\n    id: s\n    typed: {words: \"${{ vars.words }}\", number: \"${{ vars.n }}\"}\n  - name: later\n    typed: {words: \"${{ steps.s.outputs.words }}\", number: \"${{ steps.s.outputs.number + 1 }}\"}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "[a b] 3,[a b] 4" {
		t.Errorf("got %s", got)
	}
}

// Values produced by expressions are data: text that looks like ${{ }} is not evaluated again.
func TestExpressionResultsAreNotReevaluated(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: a\n    id: a\n    echo: {stdout: '$${{ env(\"HOME\") }}'}\n  - name: b\n    say: {message: \"${{ steps.a.outputs.stdout }}\"}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := c.lines()
	if got := lines[len(lines)-1]; got != `${{ env("HOME") }}` {
		t.Errorf("got %q: a step's output was evaluated as a template", got)
	}
}
