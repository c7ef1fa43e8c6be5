package playbooks_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/shelltest"
	"github.com/kindlab/playbook/report"
)

// kubeconfigOf is the kubeconfig the run's kindCreate wrote.
func kubeconfigOf(t *testing.T, r labRun) string {
	t.Helper()
	e, _ := r.finished("create-cluster")
	out, _ := e.Outputs.(map[string]any)
	path, _ := out["kubeconfig"].(string)
	if path == "" {
		t.Fatalf("create-cluster has no kubeconfig output: %+v", e.Outputs)
	}
	return path
}

// runText runs a playbook written in the test, against the lab cluster.
func runText(t *testing.T, ctx context.Context, body string, vars ...string) (*engine.Result, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: lab-extra\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	res, err := pb.Run(ctx, engine.RunOptions{Reporters: []engine.Reporter{report.NewTextReporter(&log, false)}})
	t.Logf("%s", log.String())
	return res, err
}

// A kubectlExec cancelled while its command runs in every demo pod leaves nothing running in
// them: closing the stream is not enough, the command itself must end.
func checkKubectlExecCancel(t *testing.T, kubeconfig string) {
	vars := []string{"kubeconfig=" + kubeconfig}
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(3*time.Second, func() { cancel(engine.ErrInterrupted) })
	res, _ := runText(t, ctx, "vars: {kubeconfig: ''}\nsteps:\n  - name: sleep in every demo pod\n    id: sleep\n"+
		"    kubectlExec: {kubeconfig: \"${{ vars.kubeconfig }}\", daemonset: default/cilium-demo, allPods: true, argv: [sleep, \"300\"]}\n", vars...)
	if res.Steps["sleep in every demo pod"] != engine.StatusCancelled {
		t.Fatalf("sleep: %q, want cancelled", res.Steps["sleep in every demo pod"])
	}
	_, err := runText(t, context.Background(), "vars: {kubeconfig: ''}\nsteps:\n  - name: what runs in the demo pods\n    id: ps\n"+
		"    kubectlExec: {kubeconfig: \"${{ vars.kubeconfig }}\", daemonset: default/cilium-demo, allPods: true, argv: [ps, -o, args]}\n"+
		"  - name: no sleep is left\n    assert:\n      that: [\"len(steps.ps.outputs.pods) == 3\", \"none(steps.ps.outputs.pods, .stdout contains 'sleep 300')\"]\n", vars...)
	if err != nil {
		t.Fatal(err)
	}
}

// The port-forward example of the docs, run as written: the forward it leaves in the
// background serves the next step, and is gone when the run ends.
func checkPortForwardExample(t *testing.T, kubeconfig string) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		kubectl = filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		if _, err := os.Stat(kubectl); err != nil {
			t.Fatalf("no kubectl in PATH or KUBEBUILDER_ASSETS (hack/testenv.sh builds it): %v", err)
		}
		t.Setenv("PATH", filepath.Dir(kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	pb, err := engine.Load("../docs/examples/port-forward.yaml", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{report.NewTextReporter(&log, false)}})
	t.Logf("%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "answered by cilium-demo-") {
		t.Errorf("the demo did not answer through the forward")
	}
	if out, _ := exec.Command("pgrep", "-f", "port-forward svc/").Output(); len(out) > 0 {
		t.Errorf("the port-forward outlived the run: pids %s", out)
	}
}

// kubectlExec's shell hands each value to the pod's shell through env(1), as an argument no
// shell parses: every hostile value arrives byte-exact, and none runs. (A value that is not
// UTF-8 is refused by name: the exec API carries argv as text.)
func checkKubectlExecShellValues(t *testing.T, kubeconfig string) {
	pwned := "/tmp/pwned-by-a-value"
	var values []string
	for _, v := range shelltest.HostileValues(pwned) {
		if utf8.ValidString(v) {
			values = append(values, v)
		}
	}
	indexes := shelltest.SetValues(t, values)
	value := shelltest.ValueExpr
	path := filepath.Join(t.TempDir(), "pb.yaml")
	body := fmt.Sprintf("apiVersion: playbook/v1\nkind: Playbook\nname: lab-shell\nvars: {kubeconfig: ''}\nsteps:\n"+
		"  - name: echo\n    id: echo\n    loop: [%s]\n    kubectlExec:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      daemonset: default/cilium-demo\n"+
		"      shell: %q\n"+
		"  - name: nothing ran\n    kubectlExec: {kubeconfig: \"${{ vars.kubeconfig }}\", daemonset: default/cilium-demo, allPods: true, argv: [sh, -c, 'test ! -e %s']}\n"+
		"  - name: not UTF-8\n    id: binary\n    ignoreErrors: true\n    kubectlExec: {kubeconfig: \"${{ vars.kubeconfig }}\", daemonset: default/cilium-demo, shell: 'echo ${{ fromBase64(\"/w==\") }}'}\n",
		strings.Join(indexes, ", "), "printf '%s|' "+value+" \"["+value+"]\"; cat <<EOF\n"+value+"|\nEOF", pwned)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: []string{"kubeconfig=" + kubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	var outputs []any
	var binaryErr string
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		if e.Type == engine.StepFinished && e.ID == "echo" {
			outputs, _ = e.Outputs.([]any)
		}
		if e.Type == engine.StepFinished && e.ID == "binary" {
			binaryErr = e.Error
		}
	})}})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		want := v + "|[" + v + "]|" + v + "|" // the format applies to both arguments
		got, _ := outputs[i].(map[string]any)["stdout"].(string)
		if got != strings.TrimRight(want, "\n") {
			t.Errorf("value %d: got %q, want %q", i, got, want)
		}
	}
	if !strings.Contains(binaryErr, "is not UTF-8 text") {
		t.Errorf("a value that is not UTF-8: %q", binaryErr)
	}
}
