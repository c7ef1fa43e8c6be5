package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

func runs(t *testing.T, countFile string) int {
	t.Helper()
	data, _ := os.ReadFile(countFile)
	return strings.Count(string(data), "run")
}

func TestResumeSkipsWhatSucceeded(t *testing.T) {
	dir := t.TempDir()
	count, ok := filepath.Join(dir, "count"), filepath.Join(dir, "ok")
	body := header + "vars: {tag: one}\nsteps:\n" +
		"  - {name: first, id: a, echo: {count: " + count + ", stdout: \"out-${{ vars.tag }}\"}}\n" +
		"  - {name: second, id: b, echo: {exitCode: \"${{ env('PB_OK') == 'yes' ? 0 : 1 }}\"}}\n" +
		"  - {name: third, say: {message: \"a said ${{ steps.a.outputs.stdout }}\"}}\n"
	statePath := filepath.Join(dir, "state.json")
	runOnce := func(resume bool, vars ...string) (*collect, error) {
		pb := mustLoad(t, body, engine.LoadOptions{Vars: vars})
		c, _, err := run(t, pb, engine.RunOptions{StatePath: statePath, Resume: resume})
		return c, err
	}
	t.Setenv("PB_OK", "no")
	if _, err := runOnce(false); err == nil {
		t.Fatal("second step passed")
	}
	t.Setenv("PB_OK", "yes")
	os.WriteFile(ok, nil, 0o644)
	c, err := runOnce(true)
	if err != nil {
		t.Fatal(err)
	}
	if runs(t, count) != 1 {
		t.Errorf("the first step ran again on resume (%d runs)", runs(t, count))
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
	if runs(t, count) != 2 {
		t.Errorf("a step with changed inputs was skipped")
	}
}

// A step whose outputs held a secret is never restored: the state file keeps no secret, and a
// masked value must never reach a later step as if it were real. It runs again, and says so.
func TestResumeNeverRestoresMaskedValues(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", hostileSecret)
	dir := t.TempDir()
	count, statePath := filepath.Join(dir, "count"), filepath.Join(dir, "state.json")
	body := header + "secrets:\n  token: {env: PB_TEST_TOKEN}\nsteps:\n" +
		"  - {name: login, id: login, echo: {count: " + count + ", stdout: \"user:${{ vars.token }}\"}}\n" +
		"  - {name: use, id: use, check: {that: [\"steps.login.outputs.stdout == 'user:' + vars.token\", \"env('PB_OK') == 'yes'\"]}}\n"
	t.Setenv("PB_OK", "no")
	if _, _, err := run(t, mustLoad(t, body), engine.RunOptions{StatePath: statePath}); err == nil {
		t.Fatal("use passed before PB_OK")
	}
	state, _ := os.ReadFile(statePath)
	assertNoLeak(t, "state file", string(state), hostileSecret)
	if !strings.Contains(string(state), `"secret":true`) {
		t.Errorf("state does not record that login's outputs held a secret:\n%s", state)
	}
	t.Setenv("PB_OK", "yes")
	c, _, err := run(t, mustLoad(t, body), engine.RunOptions{StatePath: statePath, Resume: true})
	if err != nil {
		t.Fatalf("the resumed step saw a masked value: %v", err)
	}
	if runs(t, count) != 2 {
		t.Errorf("login ran %d times, want 2: its outputs held a secret", runs(t, count))
	}
	if !strings.Contains(strings.Join(c.lines(), "\n"), "outputs held a secret") {
		t.Errorf("the run does not say why login ran again: %v", c.lines())
	}
}

// The fingerprint covers what a step's when reads: a step whose when now reads other outputs
// is evaluated again, not reported as succeeded in the previous run.
func TestResumeFingerprintCoversStepOutputs(t *testing.T) {
	dir := t.TempDir()
	count, statePath := filepath.Join(dir, "count"), filepath.Join(dir, "state.json")
	body := header + "steps:\n" +
		"  - {name: mode, id: mode, echo: {stdout: \"${{ env('PB_MODE') }}\"}}\n" +
		"  - {name: deploy, id: deploy, when: \"steps.mode.outputs.stdout == 'go'\", echo: {count: " + count + "}}\n" +
		"  - {name: verify, echo: {exitCode: \"${{ env('PB_FAIL') == 'yes' ? 1 : 0 }}\"}}\n"
	t.Setenv("PB_MODE", "go")
	t.Setenv("PB_FAIL", "yes")
	if _, _, err := run(t, mustLoad(t, body), engine.RunOptions{StatePath: statePath}); err == nil {
		t.Fatal("verify passed")
	}
	t.Setenv("PB_MODE", "stop")
	t.Setenv("PB_FAIL", "no")
	c, _, err := run(t, mustLoad(t, body), engine.RunOptions{StatePath: statePath, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c.finished("deploy"); e.Status != engine.StatusSkipped || !strings.HasPrefix(e.Reason, "when:") {
		t.Errorf("deploy: %s (%s); its when reads mode's output, which changed: it must be skipped by its when", e.Status, e.Reason)
	}
}

func TestResumeAfterInterrupt(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	body := header + "steps:\n  - {name: quick, id: q, echo: {count: " + count + "}}\n  - {name: slow, id: s, probe: {key: slow, sleep: \"${{ env('PB_SLEEP') }}\"}}\n"
	statePath := filepath.Join(dir, "state.json")
	t.Setenv("PB_SLEEP", "30s")
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
	t.Setenv("PB_SLEEP", "0s")
	pb = mustLoad(t, body)
	if _, err := pb.Run(context.Background(), engine.RunOptions{StatePath: statePath, Resume: true}); err != nil {
		t.Fatal(err)
	}
	if runs(t, count) != 1 {
		t.Errorf("quick ran %d times", runs(t, count))
	}
}

// --resume without an earlier run runs everything and says so, as make does with nothing
// built: a CI job can always pass it.
func TestResumeWithoutState(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: a, say: {message: x}}\n")
	c, _, err := run(t, pb, engine.RunOptions{StatePath: filepath.Join(t.TempDir(), "none.json"), Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	said := false
	for _, e := range c.events {
		said = said || e.Type == engine.Notice && strings.Contains(e.Line, "no earlier run of this playbook") && strings.Contains(e.Line, "running every step")
	}
	if e, _ := c.finished("a"); !said || e.Status != engine.StatusSucceeded {
		t.Errorf("events: %+v", c.events)
	}
}

// The default state file is named after the playbook's name, as README.md says.
func TestDefaultStatePathUsesThePlaybookName(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := writeFiles(t, map[string]string{"file-name.yaml": "apiVersion: playbook/v1\nkind: Playbook\nname: my lab\nsteps: []\n"})
	pb, err := engine.Load(filepath.Join(dir, "file-name.yaml"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(engine.DefaultStatePath(pb))
	if !strings.HasPrefix(base, "my_lab-") || !strings.HasSuffix(base, ".json") {
		t.Errorf("state file %s: want it named after the playbook, my_lab-HASH.json", base)
	}
}
