package steps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// A shell sets named outputs through the file $PLAYBOOK_OUTPUT names, as a GitHub Actions
// step does through $GITHUB_OUTPUT; they appear under outputs.values.
func TestExecSetsValuesThroughItsOutputFile(t *testing.T) {
	finished, _, err := loadRun(t, `vars: {who: "O'Brien \"the\" $(hacker)"}
steps:
  - name: set
    id: set
    exec:
      shell: |
        echo "greeting=hello ${{ vars.who }}" >> "$PLAYBOOK_OUTPUT"
        echo 'notes<<EOF' >> $PLAYBOOK_OUTPUT
        printf 'line 1\nline 2\n' >> $PLAYBOOK_OUTPUT
        echo EOF >> $PLAYBOOK_OUTPUT
  - name: check
    assert:
      that:
        - steps.set.outputs.values.greeting == "hello O'Brien \"the\" $(hacker)"
        - steps.set.outputs.values.notes == "line 1\nline 2"
  - name: nothing written
    id: quiet
    exec: {argv: ["true"]}
  - name: no values
    assert: {that: ["steps.quiet.outputs.values == {}"]}
`)
	if err != nil {
		t.Fatalf("%v\n%+v", err, finished)
	}
	if _, err := os.Stat(filepath.Join(os.TempDir(), "playbook-output-")); err == nil {
		t.Error("an output file was left behind")
	}
}

func TestExecOutputFileMistakeFailsTheStep(t *testing.T) {
	_, _, err := loadRun(t, "steps:\n  - name: bad\n    exec: {shell: \"echo 'not a pair' >> $PLAYBOOK_OUTPUT\"}\n")
	if err == nil || !strings.Contains(err.Error(), `$PLAYBOOK_OUTPUT line 1: "not a pair": write key=value`) {
		t.Fatalf("err = %v", err)
	}
}

// Where the script names its keys literally, a read of a key it never sets fails at load,
// with where it is and what it may have meant.
func TestReadingAValueNoScriptSetsFailsAtLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	body := "apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n" +
		"  - name: set\n    id: set\n    exec: {shell: 'echo \"address=1.2.3.4\" >> \"$PLAYBOOK_OUTPUT\"'}\n" +
		"  - name: read\n    log: {message: \"${{ steps.set.outputs.values.adress }}\"}\n" +
		"  - name: computed keys are not checked\n    id: any\n    exec: {shell: 'echo \"$K=1\" >> $PLAYBOOK_OUTPUT'}\n" +
		"  - name: read any\n    log: {message: \"${{ steps.any.outputs.values.whatever ?? 'none' }}\"}\n"
	os.WriteFile(path, []byte(body), 0o644)
	_, err := engine.Load(path, engine.LoadOptions{})
	want := path + `:9:50: step "set" never sets values key "adress": it sets only [address]; did you mean "address"?`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("more than one error: %v", err)
	}
}

func TestDockerExecSetsValuesPerContainer(t *testing.T) {
	_, names := startContainers(t, 2, nil)
	r := runPlaybook(t, "steps:\n  - name: set\n    id: set\n    dockerExec:\n      containers: [\"${{ vars.names[0] }}\", \"${{ vars.names[1] }}\"]\n      user: nobody\n"+
		"      shell: 'echo \"host=$(hostname)\" >> \"$PLAYBOOK_OUTPUT\"'\n"+
		"  - name: only this step's own file is there\n    id: left\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], shell: 'ls /tmp | grep -c playbook-output || true'}\n"+
		"  - name: check\n    assert:\n      that:\n"+
		"        - steps.set.outputs.values.host == steps.set.outputs.containers[0].values.host\n"+
		"        - steps.set.outputs.byContainer[vars.names[1]].values.host != steps.set.outputs.values.host\n"+
		"        - len(steps.set.outputs.values.host) == 12\n"+
		"        - steps.left.outputs.containers[0].stdout == '1'\n",
		"names=["+names[0]+", "+names[1]+"]")
	if r.err != nil {
		t.Fatal(r.err)
	}
}

// exec's output file has the same bound as dockerExec's: a command cannot make the run hold
// gigabytes through it.
func TestExecOutputFileIsBounded(t *testing.T) {
	_, _, err := loadRun(t, "steps:\n  - name: big\n    exec: {shell: 'head -c 2000000 /dev/zero | tr \"\\\\0\" a | sed \"s/^/k=/\" >> \"$PLAYBOOK_OUTPUT\"'}\n")
	if err == nil || !strings.Contains(err.Error(), "$PLAYBOOK_OUTPUT holds more than 1048576 bytes") {
		t.Fatalf("got %v", err)
	}
}
