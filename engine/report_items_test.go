package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/report"
)

const loopPlaybook = header + `steps:
  - {name: prep, when: "false", say: {message: skipped}}
  - {name: tolerated, ignoreErrors: true, echo: {stderr: nope, exitCode: 2}}
  - name: "test ${{ item }}"
    loop: [a, b, c]
    parallel: 1
    echo: {stdout: "out ${{ item }}", stderr: "err ${{ item }}", exitCode: "${{ item == 'b' ? 1 : 0 }}"}
finally:
  - {name: clean, say: {message: done}}
`

// A reader counts what the header says: the main steps, the cleanup apart, each numbered by
// its place whether or not it ran; a looped step's failure is named as its item renders.
func TestReportsNameItemsAndCountSteps(t *testing.T) {
	pb := mustLoad(t, loopPlaybook)
	var text bytes.Buffer
	junitPath := filepath.Join(t.TempDir(), "junit.xml")
	junit := report.NewJUnitReporter(junitPath)
	_, _, err := run(t, pb, engine.RunOptions{Reporters: []engine.Reporter{report.NewTextReporter(&text, false), junit}})
	junit.Close()
	if err == nil {
		t.Fatal("the run passed")
	}
	out := text.String()
	for _, want := range []string{
		"playbook t (3 steps, 1 cleanup step)\n",
		"[3/3] test ${{ item }} (echo)\n", // numbered by its place: step 1 was skipped
		"[cleanup 1/1] finally: clean (say)\n",
		"FAILED step \"test b\" (item 2 of 3 of step \"test ${{ item }}\"): exited with code 1: err b\n  last 2 lines of output:\n    out b\n    err b\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED step \"test ${{ item }}\"") {
		t.Errorf("the failure is named by the template:\n%s", out)
	}
	xml, _ := os.ReadFile(junitPath)
	for _, want := range []string{
		`<testcase name="test a" classname="t.test ${{ item }}"`,
		`<testcase name="test b" classname="t.test ${{ item }}"`,
		`<failure message="exited with code 1: err b">out b&#xA;err b</failure>`,
		`<testcase name="tolerated" classname="t"`,
		`<skipped message="ignored failure: exited with code 2: nope">`,
		`failures="1"`,
	} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, xml)
		}
	}
	if strings.Contains(string(xml), `name="test ${{ item }}"`) {
		t.Errorf("JUnit has a testcase named by the template:\n%s", xml)
	}
}

// A loop over Kubernetes objects (kubectlGet items) labels each by its name.
func TestLoopOverObjectsIsLabelledByName(t *testing.T) {
	pb := mustLoad(t, header+"steps:\n  - {name: each, loop: [{apiVersion: v1, kind: Pod, metadata: {name: cilium-abc}}], say: {message: x}}\n")
	c, _, err := run(t, pb, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.events {
		if e.Type == engine.ItemFinished && e.Item != "cilium-abc" {
			t.Errorf("item labelled %q", e.Item)
		}
	}
}
