package engine_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// Each case is a broken playbook and the exact one-line error it must produce, position
// included. pb.yaml is the file under test; other files are there to be included.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"bad yaml", map[string]string{"pb.yaml": header + "steps: [\n"},
			"pb.yaml:4:1: invalid YAML: did not find expected node content"},
		{"tab indentation", map[string]string{"pb.yaml": header + "steps:\n\t- name: x\n"},
			"pb.yaml:5:1: invalid YAML: tab character: YAML indentation must use spaces"},
		{"empty file", map[string]string{"pb.yaml": ""},
			"pb.yaml:1:1: empty file: expected a playbook (apiVersion: playbook/v1, kind: Playbook, steps: ...)"},
		{"not a mapping", map[string]string{"pb.yaml": "- a\n"},
			"pb.yaml:1:1: expected a mapping with apiVersion, kind and steps, got a list"},
		{"wrong apiVersion", map[string]string{"pb.yaml": "apiVersion: playbook/v2\nkind: Playbook\nname: t\n"},
			`pb.yaml:1:13: apiVersion must be "playbook/v1", got "playbook/v2"; did you mean "playbook/v1"?`},
		{"wrong kind", map[string]string{"pb.yaml": "apiVersion: playbook/v1\nkind: Playbok\nname: t\n"},
			`pb.yaml:2:7: kind must be "Playbook", got "Playbok"; did you mean "Playbook"?`},
		{"missing name", map[string]string{"pb.yaml": "apiVersion: playbook/v1\nkind: Playbook\n"},
			`pb.yaml:1:1: missing required key "name"`},
		{"unknown top-level key", map[string]string{"pb.yaml": header + "stpes: []\n"},
			`pb.yaml:4:1: unknown key "stpes" in mapping (expected one of: apiVersion, kind, name, description, include, vars, secrets, steps, finally); did you mean "steps"?`},
		{"duplicate top-level key", map[string]string{"pb.yaml": header + "name: again\n"},
			`pb.yaml:4:1: duplicate key "name" in mapping`},
		{"unknown step key", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    whne: true\n    say: {message: hi}\n"},
			`pb.yaml:6:5: unknown key "whne" in step (step keys: name, id, when, loop, parallel, retry, timeout, ignoreErrors, proof; or a step type: playbook steps lists them); did you mean "when"?`},
		{"misspelled step type", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    eho: {stdout: x}\n"},
			`pb.yaml:6:5: unknown key "eho" in step (step keys: name, id, when, loop, parallel, retry, timeout, ignoreErrors, proof; or a step type: playbook steps lists them); did you mean "echo"?`},
		{"unknown param key", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    echo: {stdout: x, stdot: y}\n"},
			`pb.yaml:6:23: unknown key "stdot" in echo (expected one of: stdout, stderr, exitCode, count, prefix, reads); did you mean "stdout"?`},
		{"unknown retry key", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: hi}\n    retry: {attempts: 2, dealy: 1s}\n"},
			`pb.yaml:7:26: unknown key "dealy" in retry (expected one of: attempts, delay, until); did you mean "delay"?`},
		{"missing step name", map[string]string{"pb.yaml": header + "steps:\n  - say: {message: hi}\n"},
			`pb.yaml:5:5: step: missing required key "name"`},
		{"no step type", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n"},
			`pb.yaml:5:5: step "a" has no step type: add exactly one (playbook steps lists them)`},
		{"two step types", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: hi}\n    echo: {stdout: x}\n"},
			`pb.yaml:7:5: step "a" has two step types (say and echo): write one step for each`},
		{"step not a mapping", map[string]string{"pb.yaml": header + "steps:\n  - just text\n"},
			`pb.yaml:5:5: a step must be a mapping with name and one step type, got "just text"`},
		{"wrong param type: list", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    check: {that: echo hi}\n"},
			`pb.yaml:6:19: check.that: expected a list, got "echo hi"`},
		{"wrong param type: int", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    echo: {stdout: x, exitCode: one}\n"},
			`pb.yaml:6:33: echo.exitCode: expected an integer, got "one"`},
		{"wrong step field type", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    ignoreErrors: sometimes\n    say: {message: hi}\n"},
			`pb.yaml:6:19: step.ignoreErrors: expected true or false, got "sometimes"`},
		{"plugin validation", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    shell: {}\n"},
			`pb.yaml:6:12: shell.script: write a script`},
		{"duplicate step names", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: x}\n  - name: a\n    say: {message: y}\n"},
			`pb.yaml:7:11: duplicate step name "a" (first at line 5); step names must be unique`},
		{"duplicate ids", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    id: x\n    say: {message: x}\n  - name: b\n    id: x\n    say: {message: y}\n"},
			`pb.yaml:9:9: duplicate step id "x" (first at line 6)`},
		{"bad id", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    id: 1st\n    say: {message: x}\n"},
			`pb.yaml:6:9: id "1st" must start with a letter and hold only letters, digits, - and _`},
		{"missing include", map[string]string{"pb.yaml": header + "include: [nope.yaml]\n"},
			"pb.yaml:4:11: cannot include: file nope.yaml does not exist"},
		{"include cycle", map[string]string{
			"pb.yaml": header + "include: [a.yaml]\n",
			"a.yaml":  "apiVersion: playbook/v1\nkind: Playbook\ninclude: [pb.yaml]\n"},
			"a.yaml:3:11: include cycle: pb.yaml -> a.yaml -> pb.yaml"},
		{"error inside include", map[string]string{
			"pb.yaml": header + "include: [a.yaml]\n",
			"a.yaml":  "apiVersion: playbook/v1\nkind: Playbook\nsteps:\n  - name: x\n    say: {mesage: hi}\n"},
			`a.yaml:5:11: unknown key "mesage" in say (expected one of: message); did you mean "message"?`},
		{"bad duration", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    timeout: 30 seconds\n    say: {message: x}\n"},
			`pb.yaml:6:14: step.timeout: expected a duration like 30s or 2m, got "30 seconds"`},
		{"bad expression syntax", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    when: 1 +\n    say: {message: x}\n"},
			`pb.yaml:6:13: unexpected token EOF`},
		{"unknown var", map[string]string{"pb.yaml": header + "vars: {cluster: x}\nsteps:\n  - name: a\n    say: {message: \"${{ vars.clustr }}\"}\n"},
			`pb.yaml:7:30: unknown var "clustr"; did you mean "cluster"?`},
		{"unknown function", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: \"${{ lnes('a') }}\"}\n"},
			`pb.yaml:6:25: unknown name "lnes" in expression; did you mean "lines"?`},
		{"wrong function argument type", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: \"${{ lines(1) }}\"}\n"},
			`pb.yaml:6:31: cannot use int as argument (type string) to call lines `},
		{"unknown step id in expression", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    id: first\n    say: {message: x}\n  - name: b\n    when: steps.frist.status == 'succeeded'\n    say: {message: x}\n"},
			`pb.yaml:9:17: no step has id "frist"; did you mean "first"?`},
		{"unknown step output", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    id: first\n    echo: {stdout: x}\n  - name: b\n    when: steps.first.outputs.stdot == ''\n    say: {message: x}\n"},
			`pb.yaml:9:31: step "first" has no output "stdot" (it has [stdout stderr exitCode]); did you mean "stdout"?`},
		{"item outside a loop", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: \"${{ item }}\"}\n"},
			`pb.yaml:6:25: "item" is only defined in a step with loop`},
		{"wrong-typed when", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    when: 1 + 2\n    say: {message: x}\n"},
			`pb.yaml:6:11: expected bool, but got int`},
		{"until without retry", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    until: outputs.exitCode == 0\n    echo: {stdout: x}\n"},
			`pb.yaml:6:5: until belongs inside retry: write retry: {attempts: N, until: ...}`},
		{"until names an unknown output", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    echo: {stdout: x}\n    retry: {attempts: 2, until: outputs.exitcode == 0}\n"},
			`pb.yaml:7:41: this step has no output "exitcode" (it has [stdout stderr exitCode]); did you mean "exitCode"?`},
		{"loop over a non-list", map[string]string{"pb.yaml": header + "vars: {n: 3}\nsteps:\n  - name: a\n    loop: \"${{ vars.n }}\"\n    say: {message: x}\n"},
			`pb.yaml:7:11: loop: expected a list, but ${{ vars.n }} gives the number 3`},
		{"loop over a scalar", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    loop: three\n    say: {message: x}\n"},
			`pb.yaml:6:11: loop: expected a list or a ${{ }} expression that gives one, got "three"`},
		{"parallel without loop", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    parallel: 2\n    say: {message: x}\n"},
			`pb.yaml:6:15: parallel must be a positive number and goes with loop`},
		{"retry attempts zero", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    retry: {attempts: 0}\n    say: {message: x}\n"},
			`pb.yaml:6:23: retry.attempts must be at least 1`},
		{"unclosed template", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    say: {message: \"x ${{ vars\"}\n"},
			`pb.yaml:6:23: unclosed ${{ (expected }})`},
		{"var cycle", map[string]string{"pb.yaml": header + "vars:\n  a: \"${{ vars.b }}\"\n  b: \"${{ vars.a }}\"\n"},
			`pb.yaml:5:6: vars depend on each other in a cycle: a -> b -> a`},
		{"var uses steps", map[string]string{"pb.yaml": header + "vars:\n  a: \"${{ steps.x }}\"\n"},
			`pb.yaml:5:11: vars cannot use steps, item, index or outputs; compute such values in a step`},
		{"var with a dash", map[string]string{"pb.yaml": header + "vars:\n  my-var: 1\n"},
			`pb.yaml:5:3: var name "my-var" must be a letter followed by letters, digits or _ (it is written vars.my-var in expressions)`},
		{"hyphenated step id without brackets", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    id: make-it\n    say: {message: x}\n  - name: b\n    say: {message: \"${{ steps.make-it.status }}\"}\n"},
			`pb.yaml:9:25: step ids with "-" need brackets in expressions: write steps["make-it"]`},
		{"check that is not a list", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    check: {that: true}\n"},
			`pb.yaml:6:19: check.that: expected a list, got true`},
		{"expression evaluation error at load", map[string]string{"pb.yaml": header + "vars: {a: 1}\nsteps:\n  - name: a\n    say: {message: \"${{ vars.a > 0 ? fromJSON('{') : '' }}\"}\n"},
			`pb.yaml:7:20: say.message: vars.a > 0 ? fromJSON('{') : '': unexpected end of JSON input`},
		// Authoring mistakes that went wrong silently before (issue: authoring safety).
		{"when on a string var", map[string]string{"pb.yaml": header + "vars: {name: demo}\nsteps:\n  - name: a\n    when: vars.name\n    say: {message: x}\n"},
			`pb.yaml:7:11: when: expected true or false, but vars.name gives the string "demo"`},
		{"a looped step's outputs read as one", map[string]string{"pb.yaml": header + "steps:\n  - name: build\n    id: build\n    loop: [a, b]\n    echo: {stdout: x}\n  - name: use\n    say: {message: \"${{ steps.build.outputs.stdout }}\"}\n"},
			`pb.yaml:10:45: step "build" loops, so its outputs are a list with one entry per item: write steps.build.outputs[0].stdout, or map(steps.build.outputs, .stdout)`},
		{"a name that reads steps", map[string]string{"pb.yaml": header + "steps:\n  - {name: a, id: a, echo: {stdout: x}}\n  - name: \"after ${{ steps.a.outputs.stdout }}\"\n    say: {message: x}\n"},
			`pb.yaml:6:11: step.name: a name can use vars, and item or index in a step with loop, but not steps: it must be known before the step runs`},
		{"a value in single quotes in a shell script", map[string]string{"pb.yaml": header + "vars: {dir: x}\nsteps:\n  - name: a\n    shell: {script: \"rm -rf '${{ vars.dir }}'/*\"}\n"},
			`pb.yaml:7:30: ${{ }} inside single quotes cannot carry a value: the shell takes '...' literally; close the quotes around it ('...'${{ x }}'...') or use double quotes`},
		{"a value in a quoted here-document", map[string]string{"pb.yaml": header + "vars: {x: y}\nsteps:\n  - name: a\n    shell:\n      script: |\n        cat <<'EOF'\n        ${{ vars.x }}\n        EOF\n"},
			`pb.yaml:10:9: ${{ }} inside a here-document with a quoted delimiter cannot carry a value: the shell takes its body literally; write the delimiter unquoted (<<EOF)`},
		{"a value as a here-document's delimiter", map[string]string{"pb.yaml": header + "vars: {x: y}\nsteps:\n  - name: a\n    shell:\n      script: |\n        cat <<${{ vars.x }}\n        y\n"},
			`pb.yaml:9:15: the script does not parse as a shell script, so where its ${{ }} values stand cannot be told: expansions not allowed in heredoc words`},
		{"a script that does not parse", map[string]string{"pb.yaml": header + "vars: {x: y}\nsteps:\n  - name: a\n    shell: {script: \"echo ${{ vars.x }} (\"}\n"},
			`pb.yaml:7:42: the script does not parse as a shell script, so where its ${{ }} values stand cannot be told: a command can only contain words and redirects; encountered ` + "`(`"},
		{"until without outputs.", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    echo: {stdout: x}\n    retry: {attempts: 2, until: exitCode == 0}\n"},
			`pb.yaml:7:33: unknown name "exitCode" in expression; did you mean "outputs.exitCode"?`},
		{"a var named without vars.", map[string]string{"pb.yaml": header + "vars: {cluster: x}\nsteps:\n  - name: a\n    say: {message: \"${{ cluster }}\"}\n"},
			`pb.yaml:7:25: unknown name "cluster" in expression; did you mean "vars.cluster"?`},
		{"with_items", map[string]string{"pb.yaml": header + "steps:\n  - name: a\n    with_items: [a, b]\n    say: {message: x}\n"},
			`pb.yaml:6:5: unknown key "with_items" in step: playbook loops with loop: [a, b] (or loop: "${{ vars.list }}"), and the item is ${{ item }}; did you mean "loop"?`},
		{"a missing include does not hide the file's own errors", map[string]string{"pb.yaml": header + "include: [nope.yaml]\nsteps:\n  - name: a\n    say: {mesage: x}\n"},
			`pb.yaml:4:11: cannot include: file nope.yaml does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := engine.Load(filepath.Join(dir, "pb.yaml"), engine.LoadOptions{})
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !engine.IsInvalidInput(err) {
				t.Errorf("error is not marked invalid input: %T", err)
			}
			got := strings.ReplaceAll(firstLine(err), dir+"/", "")
			got = strings.ReplaceAll(got, dir, "DIR")
			if got != tc.want {
				t.Errorf("\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestIncludeMergesVarsAndSteps(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.yaml": "apiVersion: playbook/v1\nkind: Playbook\nvars: {cluster: base, workers: 1}\nsteps:\n  - name: from base\n    say: {message: \"${{ vars.cluster }}\"}\nfinally:\n  - name: base cleanup\n    say: {message: bye}\n",
		"pb.yaml":   header + "include: [base.yaml]\nvars: {cluster: mine}\nsteps:\n  - name: mine\n    say: {message: \"${{ vars.workers }}\"}\n",
	})
	pb, err := engine.Load(filepath.Join(dir, "pb.yaml"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pb.Vars["cluster"] != "mine" || pb.Vars["workers"] != 1 {
		t.Errorf("vars = %v, want cluster=mine (this file wins) and workers=1 (from base)", pb.Vars)
	}
	if len(pb.Steps) != 2 || pb.Steps[0].Name != "from base" || pb.Steps[1].Name != "mine" || len(pb.Finally) != 1 {
		t.Errorf("steps merged wrongly: %d steps, %d finally", len(pb.Steps), len(pb.Finally))
	}
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "mine,1,bye" {
		t.Errorf("output %q: the base step must see this file's vars", got)
	}
}

func TestVarOverrides(t *testing.T) {
	body := header + "vars:\n  workers: 2\n  name: x\n  greeting: \"hi ${{ vars.name }} x${{ vars.workers }}\"\n"
	dir := writeFiles(t, map[string]string{"vars.yaml": "name: from-file\nworkers: 5\n", "bad.yaml": "nmae: x\n"})
	cases := []struct {
		name string
		opts engine.LoadOptions
		want string
		err  string
	}{
		{"defaults", engine.LoadOptions{}, "hi x x2", ""},
		{"--var is typed YAML", engine.LoadOptions{Vars: []string{"workers=3"}}, "hi x x3", ""},
		{"--vars-file then --var", engine.LoadOptions{VarsFiles: []string{filepath.Join(dir, "vars.yaml")}, Vars: []string{"name=cli"}}, "hi cli x5", ""},
		{"unknown --var", engine.LoadOptions{Vars: []string{"wrokers=3"}}, "", `--var wrokers=3: unknown var "wrokers": the playbook declares workers, name, greeting; did you mean "workers"?`},
		{"--var without =", engine.LoadOptions{Vars: []string{"workers"}}, "", `--var "workers": expected key=value`},
		{"unknown var in vars file", engine.LoadOptions{VarsFiles: []string{filepath.Join(dir, "bad.yaml")}}, "", `bad.yaml:1:1: unknown var "nmae": the playbook declares workers, name, greeting; did you mean "name"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := load(t, body, tc.opts)
			if tc.err != "" {
				if err == nil || !strings.HasSuffix(firstLine(err), tc.err) {
					t.Fatalf("err = %v, want suffix %q", err, tc.err)
				}
				if !engine.IsInvalidInput(err) {
					t.Errorf("not an invalid-input error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pb.Vars["greeting"] != tc.want {
				t.Errorf("greeting = %q, want %q", pb.Vars["greeting"], tc.want)
			}
		})
	}
}

func TestDiagnosticsReportEveryProblem(t *testing.T) {
	_, err := load(t, header+"steps:\n  - name: a\n    whne: x\n    say: {message: x}\n  - name: b\n    say: {mesage: x}\n")
	ds, ok := err.(engine.Diagnostics)
	if !ok || len(ds) != 2 {
		t.Fatalf("want 2 diagnostics, got %v", err)
	}
}

// A step whose own keys are wrong is still known by its id: the steps that read it get no
// "no step has id" error after the real one.
func TestInvalidStepKeepsItsID(t *testing.T) {
	_, err := load(t, header+"steps:\n  - name: a\n    id: a\n    echo: {stdot: x}\n  - {name: b, say: {message: \"${{ steps.a.outputs.stdout }}\"}}\n  - {name: c, when: \"steps.a.status == 'succeeded'\", say: {message: x}}\n  - {name: d, say: {message: \"${{ steps.a.outputs.stdotu }}\"}}\n")
	if err == nil {
		t.Fatal("loaded")
	}
	if strings.Contains(err.Error(), "no step has id") || !strings.Contains(err.Error(), `unknown key "stdot"`) || !strings.Contains(err.Error(), `step "a" has no output "stdotu"`) {
		t.Errorf("got:\n%v", err)
	}
}
