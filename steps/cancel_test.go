package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
)

// cancelAfter runs a one-step playbook, cancels it after a moment, and fails the test when
// the step takes more than a second to stop.
func cancelAfter(t *testing.T, step string, vars ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: c\nvars: {group: '', kubeconfig: ''}\nsteps:\n  - name: long\n"+step), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled time.Time
	time.AfterFunc(500*time.Millisecond, func() { cancelled = time.Now(); cancel() })
	res, _ := pb.Run(ctx, engine.RunOptions{})
	if took := time.Since(cancelled); took > time.Second {
		t.Errorf("the step took %s to stop", took)
	}
	if res.Steps["long"] != engine.StatusCancelled {
		t.Errorf("status %s", res.Steps["long"])
	}
}

func TestDockerExecStopsWhenCancelled(t *testing.T) {
	group, _ := startContainers(t, 2, nil)
	cancelAfter(t, "    dockerExec: {selector: \"kindlab.test/group=${{ vars.group }}\", argv: [sleep, '30']}\n", "group="+group)
}

func TestWaitForStopsWhenCancelled(t *testing.T) {
	cancelAfter(t, "    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: nodesReady, selector: kindlab.test/never=x}\n", "kubeconfig="+testenv.Kubeconfig(t))
}
