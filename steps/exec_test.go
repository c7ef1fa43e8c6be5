package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	_ "github.com/kindlab/playbook/steps"
)

func loadRun(t *testing.T, body string, vars ...string) (map[string]engine.Event, []string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]engine.Event{}
	var lines []string
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		switch e.Type {
		case engine.StepFinished:
			finished[e.Step] = e
		case engine.StepOutput:
			lines = append(lines, e.Line)
		}
	})}})
	return finished, lines, err
}

// A hostile value reaches the program as one argument: argv never sees a shell, and in
// shell: every interpolated value is quoted.
func TestHostileValuesStayOneArgument(t *testing.T) {
	cases := []struct{ name, step string }{
		{"argv", "exec: {argv: [printf, '[%s]', \"${{ vars.v }}\"]}"},
		{"shell", "exec: {shell: \"printf '[%s]' ${{ vars.v }}\"}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pwned := filepath.Join(t.TempDir(), "pwned")
			hostile := "it's; touch " + pwned + " $(touch " + pwned + ") `touch " + pwned + "`\nsecond line"
			_, lines, err := loadRun(t, "vars: {v: ''}\nsteps:\n  - name: a\n    "+tc.step+"\n", "v="+hostile)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(lines, "\n"); got != "["+hostile+"]" {
				t.Errorf("got %q", got)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("the hostile value was executed")
			}
		})
	}
}

func TestExecOutputsAndOptions(t *testing.T) {
	dir := t.TempDir()
	body := "steps:\n" +
		"  - {name: codes, id: codes, exec: {shell: 'echo out; echo err >&2; exit 3', okExitCodes: [3]}}\n" +
		"  - {name: stdin, id: stdin, exec: {argv: [cat], stdin: fed}}\n" +
		"  - {name: env, id: env, exec: {argv: [sh, -c, 'echo $PB_X'], env: {PB_X: set}}}\n" +
		"  - {name: dir, id: dir, exec: {argv: [pwd], dir: " + dir + "}}\n" +
		"  - name: check\n    assert:\n      that:\n" +
		"        - steps.codes.outputs.exitCode == 3\n        - steps.codes.outputs.stdout == 'out'\n        - steps.codes.outputs.stderr == 'err'\n" +
		"        - steps.stdin.outputs.stdout == 'fed'\n        - steps.env.outputs.stdout == 'set'\n        - steps.dir.outputs.stdout == '" + dir + "'\n"
	if _, _, err := loadRun(t, body); err != nil {
		t.Fatal(err)
	}
}

func TestExecFailures(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{argv: [sh, -c, 'exit 5']}", "sh exited with code 5"},
		{"{argv: [/no/such/program]}", "fork/exec /no/such/program: no such file or directory"},
	}
	for _, tc := range cases {
		_, _, err := loadRun(t, "steps:\n  - name: a\n    exec: "+tc.body+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.want)
		}
	}
}

// A cancelled exec stops its whole process group within a second.
func TestExecCancelsWithinASecond(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n  - name: a\n    exec: {shell: 'trap \"\" TERM; sleep 30 & wait'}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = pb.Run(ctx, engine.RunOptions{})
	if took := time.Since(start) - 200*time.Millisecond; took > time.Second+300*time.Millisecond {
		t.Errorf("stopping took %s", took)
	}
	if err == nil {
		t.Error("no error after cancellation")
	}
}
