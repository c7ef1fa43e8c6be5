package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

const secretValue = "s3cr3t-T0ken-value"

const secretPlaybook = header + `secrets:
  token: {env: PB_TEST_TOKEN}
steps:
  - name: use it
    id: use
    exec: {argv: [echo, "token is ${{ vars.token }}"]}
  - name: leak it on failure
    exec: {shell: "echo bad ${{ vars.token }} >&2; exit 3"}
`

// A secret never shows: not in output lines, JSON events, JUnit, the state file, or errors.
func TestSecretsAreMaskedEverywhere(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", secretValue)
	pb := mustLoad(t, secretPlaybook)
	dir := t.TempDir()
	var jsonOut, text bytes.Buffer
	junit := engine.NewJUnitReporter(filepath.Join(dir, "junit.xml"))
	statePath := filepath.Join(dir, "state.json")
	_, err := pb.Run(context.Background(), engine.RunOptions{StatePath: statePath,
		Reporters: []engine.Reporter{engine.NewJSONReporter(&jsonOut), engine.NewTextReporter(&text, false), junit}})
	junit.Close()
	if err == nil {
		t.Fatal("the failing step did not fail")
	}
	junitXML, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	state, _ := os.ReadFile(statePath)
	for what, s := range map[string]string{"json events": jsonOut.String(), "text": text.String(), "junit": string(junitXML),
		"state file": string(state), "error": err.Error()} {
		if strings.Contains(s, secretValue) {
			t.Errorf("%s shows the secret:\n%s", what, s)
		}
		if what != "state file" && !strings.Contains(s, "***") {
			t.Errorf("%s has no mask where the secret was:\n%s", what, s)
		}
	}
	if !strings.Contains(string(state), `"stdout": "token is ***"`) {
		t.Errorf("state file: %s", state)
	}
	if info, _ := os.Stat(statePath); info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v: it may hold outputs", info.Mode().Perm())
	}
}

func TestSecretsFromFlagFileAndMissing(t *testing.T) {
	dir := writeFiles(t, map[string]string{"token.txt": secretValue + "\n",
		"pb.yaml": header + "secrets:\n  fromFile: {file: token.txt}\n  fromEnv: {env: PB_UNSET_SECRET_VAR}\nsteps:\n  - {name: a, id: a, exec: {argv: [echo, \"${{ vars.fromFile }}\"]}}\n"})
	path := filepath.Join(dir, "pb.yaml")
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatalf("validate and plan must work without secrets: %v", err)
	}
	_, err = pb.Run(context.Background(), engine.RunOptions{})
	if err == nil || !engine.IsInvalidInput(err) || err.Error() != `secret "fromEnv" has no value: set $PB_UNSET_SECRET_VAR or --secret fromEnv=...` {
		t.Errorf("missing secret: %v", err)
	}
	pb, err = engine.Load(path, engine.LoadOptions{Secrets: []string{"fromEnv=given-on-the-command-line"}})
	if err != nil {
		t.Fatal(err)
	}
	c := &collect{}
	if _, err := pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{c}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "***" {
		t.Errorf("file secret shown as %q", got)
	}
	if masked := pb.MaskedVars(); masked["fromFile"] != "***" || masked["fromEnv"] != "***" {
		t.Errorf("plan vars: %v", masked)
	}
	_, err = engine.Load(path, engine.LoadOptions{Secrets: []string{"fromEvn=x"}})
	if err == nil || !strings.Contains(err.Error(), `did you mean "fromEnv"?`) || strings.Contains(err.Error(), "=x") {
		t.Errorf("unknown --secret: %v", err)
	}
}

// A load error about a secret's value does not print the value.
func TestSecretsMaskedInLoadErrors(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", secretValue)
	_, err := load(t, header+"secrets:\n  token: {env: PB_TEST_TOKEN}\nsteps:\n  - {name: a, exec: {argv: \"${{ vars.token }}\"}}\n")
	if err == nil || strings.Contains(err.Error(), secretValue) || !strings.Contains(err.Error(), `got "***"`) {
		t.Errorf("err = %v", err)
	}
}

func TestResumeSkipsWhatSucceeded(t *testing.T) {
	dir := t.TempDir()
	count, ok := filepath.Join(dir, "count"), filepath.Join(dir, "ok")
	body := header + "vars: {tag: one}\nsteps:\n" +
		"  - {name: first, id: a, exec: {shell: \"echo run >> " + count + "; echo out-${{ vars.tag }}\"}}\n" +
		"  - {name: second, id: b, exec: {argv: [test, -f, " + ok + "]}}\n" +
		"  - {name: third, log: {message: \"a said ${{ steps.a.outputs.stdout }}\"}}\n"
	statePath := filepath.Join(dir, "state.json")
	runOnce := func(resume bool, vars ...string) (*collect, error) {
		pb := mustLoad(t, body, engine.LoadOptions{Vars: vars})
		c, _, err := run(t, pb, engine.RunOptions{StatePath: statePath, Resume: resume})
		return c, err
	}
	if _, err := runOnce(false); err == nil {
		t.Fatal("second step passed before its file existed")
	}
	os.WriteFile(ok, nil, 0o644)
	c, err := runOnce(true)
	if err != nil {
		t.Fatal(err)
	}
	if runs, _ := os.ReadFile(count); strings.Count(string(runs), "run") != 1 {
		t.Errorf("the first step ran again on resume (%d runs)", strings.Count(string(runs), "run"))
	}
	if e, _ := c.finished("first"); e.Status != engine.StatusSkipped || !strings.Contains(e.Reason, "previous run") {
		t.Errorf("first: %+v", e)
	}
	if lines := c.lines(); lines[len(lines)-1] != "a said out-one" {
		t.Errorf("restored outputs not seen: %v", lines)
	}
	// Other inputs: the step runs again.
	if _, err := runOnce(true, "tag=two"); err != nil {
		t.Fatal(err)
	}
	if runs, _ := os.ReadFile(count); strings.Count(string(runs), "run") != 2 {
		t.Errorf("a step with changed inputs was skipped")
	}
}

func TestResumeAfterInterrupt(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	body := header + "steps:\n  - {name: quick, id: q, exec: {shell: \"echo run >> " + count + "\"}}\n  - {name: slow, id: s, exec: {argv: [sleep, \"${{ env('PB_SLEEP') }}\"]}}\n"
	statePath := filepath.Join(dir, "state.json")
	t.Setenv("PB_SLEEP", "30")
	pb := mustLoad(t, body)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collect{}
	go func() {
		for {
			if _, done := c.finished("quick"); done {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if _, err := pb.Run(ctx, engine.RunOptions{StatePath: statePath, Reporters: []engine.Reporter{c}}); !errors.Is(err, engine.ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("PB_SLEEP", "0")
	pb = mustLoad(t, body)
	if _, err := pb.Run(context.Background(), engine.RunOptions{StatePath: statePath, Resume: true}); err != nil {
		t.Fatal(err)
	}
	if runs, _ := os.ReadFile(count); strings.Count(string(runs), "run") != 1 {
		t.Errorf("quick ran %d times", strings.Count(string(runs), "run"))
	}
}

func TestResumeWithoutState(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: a, log: {message: x}}\n")
	_, err := pb.Run(context.Background(), engine.RunOptions{StatePath: filepath.Join(t.TempDir(), "none.json"), Resume: true})
	if err == nil || !engine.IsInvalidInput(err) || !strings.Contains(err.Error(), "no earlier run") {
		t.Errorf("err = %v", err)
	}
}
