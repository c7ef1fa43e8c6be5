package engine_test

import (
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// Reading the outputs of a step that did not succeed fails the reading step, saying which
// step, why it has none, and what to write instead: `rm -rf ${{ ... }}/*` must never become
// `rm -rf /*`. ?? and steps.X.status stay allowed.
func TestOutputsOfAStepThatDidNotSucceed(t *testing.T) {
	cases := []struct {
		name, body string
		opts       engine.RunOptions
		want       string
	}{
		{"skipped by when", "steps:\n  - {name: make temp dir, id: tmp, when: \"env('PB_NEVER', 'no') == 'yes'\", echo: {stdout: /tmp/x}}\n  - {name: clean, shell: {script: \"rm -rf ${{ steps.tmp.outputs.stdout }}/*\"}}\n",
			engine.RunOptions{}, `pb.yaml:6:35: shell.script: steps.tmp.outputs.stdout: step "make temp dir" has no outputs: it was skipped: when: env('PB_NEVER', 'no') == 'yes'; read them only when it succeeded (when: steps["tmp"].status == 'succeeded'), or give a default (steps["tmp"].outputs.NAME ?? 'value')`},
		{"not selected", "steps:\n  - {name: make temp dir, id: tmp, echo: {stdout: /tmp/x}}\n  - {name: clean, id: clean, shell: {script: \"rm -rf ${{ steps.tmp.outputs.stdout }}/*\"}}\n",
			engine.RunOptions{StartAt: "clean"}, `it did not run: not selected (--start-at clean)`},
		{"failed, errors ignored", "steps:\n  - {name: make temp dir, id: tmp, ignoreErrors: true, echo: {stdout: /tmp/x, exitCode: 1}}\n  - {name: clean, shell: {script: \"rm -rf ${{ steps.tmp.outputs.stdout }}/*\"}}\n",
			engine.RunOptions{}, `step "make temp dir" has no outputs: it failed (ignoreErrors let the run go on)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pb := mustLoad(t, header+tc.body)
			c, _, err := run(t, pb, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, tc.want)
			}
			if e, _ := c.finished("clean"); e.Outputs != nil {
				t.Errorf("the script ran: %v", e.Outputs)
			}
		})
	}
}

func TestGuardedReadsOfMissingOutputs(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: a, id: a, when: \"env('PB_NEVER', 'no') == 'yes'\", echo: {stdout: x}}\n"+
		"  - {name: default, say: {message: \"${{ steps.a.outputs.stdout ?? 'none' }}\"}}\n"+
		"  - {name: guarded, when: \"steps.a.status == 'succeeded'\", say: {message: \"${{ steps.a.outputs.stdout }}\"}}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "none" {
		t.Errorf("lines %q", got)
	}
	if len(pb.Warnings) != 0 {
		t.Errorf("guarded reads warned: %v", pb.Warnings)
	}
}

// validate warns where it can know at load that a read may find no outputs: the step read
// has a when, and the reader neither checks its status nor gives a default.
func TestUnguardedReadWarns(t *testing.T) {
	pb := mustLoad(t, header+"vars: {on: true}\nsteps:\n  - {name: a, id: a, when: vars.on, echo: {stdout: x}}\n  - name: b\n    say: {message: \"${{ steps.a.outputs.stdout }}\"}\n")
	if len(pb.Warnings) != 1 {
		t.Fatalf("warnings: %v", pb.Warnings)
	}
	got := pb.Warnings[0].Error()
	want := `pb.yaml:8:20: warning: step "a" has a when and may be skipped, which leaves no outputs to read here: add when: steps["a"].status == 'succeeded' to this step, or give a default (?? 'value')`
	if !strings.HasSuffix(got, want) {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
}

// Every --var and --vars-file value takes the declared var's type; a string keeps the exact
// text typed; a value that does not fit is an error at load naming the var, the type and the
// value.
func TestVarsTakeTheDeclaredType(t *testing.T) {
	body := header + "vars:\n  version: \"1.10\"\n  replicas: 3\n  targets: [linux]\n  debug: false\n  values: {}\n  anything:\n"
	cases := []struct {
		vars []string
		want map[string]any
		err  string
	}{
		{[]string{"version=1.10"}, map[string]any{"version": "1.10"}, ""},
		{[]string{"replicas=5"}, map[string]any{"replicas": 5}, ""},
		{[]string{"replicas=three"}, nil, `pb.yaml:6:13): expected an integer, got "three"`},
		{[]string{"targets=linux,darwin"}, map[string]any{"targets": []any{"linux", "darwin"}}, ""},
		{[]string{"targets=[linux, darwin]"}, map[string]any{"targets": []any{"linux", "darwin"}}, ""},
		{[]string{"debug=true"}, map[string]any{"debug": true}, ""},
		{[]string{"debug=sometimes"}, nil, `expected true or false, got "sometimes"`},
		{[]string{"values={a: 1}"}, map[string]any{"values": map[string]any{"a": 1}}, ""},
		{[]string{"values=a"}, nil, `expected a mapping ({key: value}), got "a"`},
		{[]string{"anything=3"}, map[string]any{"anything": 3}, ""},
	}
	for _, tc := range cases {
		pb, err := load(t, body, engine.LoadOptions{Vars: tc.vars})
		if tc.err != "" {
			if err == nil || !engine.IsInvalidInput(err) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err = %v, want %s", tc.vars, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.vars, err)
			continue
		}
		for k, v := range tc.want {
			if engine.Stringify(pb.Vars[k]) != engine.Stringify(v) {
				t.Errorf("%v: %s = %#v, want %#v", tc.vars, k, pb.Vars[k], v)
			}
		}
	}
	dir := writeFiles(t, map[string]string{"v.yaml": "version: 1.10\nreplicas: many\n"})
	_, err := load(t, body, engine.LoadOptions{VarsFiles: []string{dir + "/v.yaml"}})
	if err == nil || !strings.Contains(err.Error(), `v.yaml:2:11: vars.replicas is declared as an integer`) || !strings.Contains(err.Error(), `expected an integer, got "many"`) {
		t.Errorf("vars file: %v", err)
	}
}

// A --vars-file string var keeps the text written, even where YAML would read a number.
func TestVarsFileStringKeepsText(t *testing.T) {
	dir := writeFiles(t, map[string]string{"v.yaml": "version: 1.10\n"})
	pb := mustLoad(t, header+"vars: {version: \"1.9\"}\n", engine.LoadOptions{VarsFiles: []string{dir + "/v.yaml"}})
	if pb.Vars["version"] != "1.10" {
		t.Errorf("version = %#v", pb.Vars["version"])
	}
}

// A looped step's name may use item: each item is labelled with its own name.
func TestItemInALoopedStepsName(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: \"greet ${{ item }}\"\n    loop: [ann, bob]\n    say: {message: hi}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, e := range c.events {
		if e.Type == engine.StepOutput {
			items = append(items, e.Item)
		}
	}
	if strings.Join(items, ",") != "greet ann,greet bob" {
		t.Errorf("items %v", items)
	}
}

// retry.until, when given, is the success test: evaluated after every attempt, failed ones
// included, so a command whose exit code 7 means "done" succeeds.
func TestRetryUntilTurnsAFailedAttemptIntoSuccess(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - name: a\n    id: a\n    echo: {exitCode: 7, stderr: done}\n    retry: {attempts: 3, until: outputs.exitCode == 7}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.events {
		if e.Type == engine.StepRetrying {
			t.Errorf("retried although until held: %+v", e)
		}
	}
	pb = mustLoad(t, header+"steps:\n  - name: a\n    echo: {exitCode: 2, stderr: broken}\n    retry: {attempts: 2, until: outputs.exitCode == 7}\n")
	_, _, err = run(t, pb, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "after 2 attempts: exited with code 2: broken (and until outputs.exitCode == 7 does not hold)") {
		t.Errorf("err = %v", err)
	}
}

// A template value that is not there is an error, never an empty string.
func TestNilInATemplateIsAnError(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: a, id: a, echo: {stdout: '{}'}}\n  - {name: b, say: {message: \"x=${{ fromJSON(steps.a.outputs.stdout).missing }}\"}}\n")
	_, _, err := run(t, pb, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), `fromJSON(steps.a.outputs.stdout).missing: no key "missing" (the map is empty)`) {
		t.Errorf("err = %v", err)
	}
}
