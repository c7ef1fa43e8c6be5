package steps_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// A set step computes an expression once; later steps read the value as it was, a map or a
// list as much as a string.
func TestSetNamesValuesForLaterSteps(t *testing.T) {
	finished, _, err := loadRun(t, `vars: {pods: [{name: a, node: cp}, {name: b, node: w1}]}
steps:
  - name: pick the client
    id: client
    set:
      values:
        pod: "${{ filter(vars.pods, .node != 'cp')[0] }}"
        count: "${{ len(vars.pods) }}"
        label: "pod ${{ vars.pods[1].name }}"
  - name: read it
    assert:
      that:
        - "steps.client.outputs.values.pod == {'name': 'b', 'node': 'w1'}"
        - steps.client.outputs.values.count == 2
        - steps.client.outputs.values.label == 'pod b'
`)
	if err != nil {
		t.Fatalf("%v\n%+v", err, finished)
	}
}

// The names are known at load: a read of one the step does not set is an error there, with
// where and what was meant; a set step with nothing to set is one too.
func TestSetMistakesFailAtLoad(t *testing.T) {
	cases := []struct{ body, want string }{
		{"  - name: set\n    id: s\n    set: {values: {client: 1}}\n  - name: read\n    log: {message: \"${{ steps.s.outputs.values.cleint }}\"}\n",
			`pb.yaml:9:48: step "s" never sets values key "cleint": it sets only [client]; did you mean "client"?`},
		{"  - name: set\n    set: {values: {}}\n", "pb.yaml:6:19: set.values: give at least one name and its value"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "pb.yaml")
		os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n"+tc.body), 0o644)
		_, err := engine.Load(path, engine.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v\nwant %s", tc.body, err, tc.want)
		}
	}
}

// A value computed from a secret is a secret: the set step's outputs, as every event shows
// them, hold it masked, and the step that reads it sees it whole.
func TestSetValueFromASecretIsMasked(t *testing.T) {
	const token = "s3cr3t-token-value"
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte(`apiVersion: playbook/v1
kind: Playbook
name: t
secrets:
  token: {}
steps:
  - name: derive
    id: d
    set:
      values:
        header: "Bearer ${{ upper(vars.token) }}"
  - name: whole for the step that reads it
    assert: {that: ["steps.d.outputs.values.header == 'Bearer S3CR3T-TOKEN-VALUE'"]}
`), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{Secrets: []string{"token=" + token}})
	if err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		line, _ := json.Marshal(e)
		shown.Write(line)
	})}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(shown.String()), "S3CR3T") {
		t.Errorf("a secret's form shows in the events:\n%s", shown.String())
	}
}
