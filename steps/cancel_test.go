package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// cancelAfter runs a one-step playbook and cancels it after a moment. The step must stop
// instead of waiting for its command: the commands given here run for 30 s or more, so a
// step still there after half of that waited for its command. How fast a step stops is a
// timing goal, measured by BenchmarkCancelStop in bench/, not asserted here: under -race on
// a loaded CI machine it varies by seconds.
func cancelAfter(t *testing.T, step string, vars ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: c\nvars: {group: '', kubeconfig: ''}\nsteps:\n  - name: long\n"+step), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	res, _ := pb.Run(ctx, engine.RunOptions{})
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the step took %s to stop: it waited for its command", took)
	}
	if res.Steps["long"] != engine.StatusCancelled {
		t.Errorf("status %s", res.Steps["long"])
	}
}

// A cancelled dockerExec ends the command in the container too, not only the wait for it:
// the Docker API cannot signal what it started, and closing the connection leaves it running.
func TestDockerExecStopsWhenCancelled(t *testing.T) {
	group, names := startContainers(t, 2, nil)
	cancelAfter(t, "    dockerExec: {selector: \"kindlab.test/group=${{ vars.group }}\", shell: 'sleep 31 & sleep 32'}\n", "group="+group)
	cli := testenv.Docker(t)
	for _, name := range names {
		ps := execOutput(t, cli, name, "ps")
		if strings.Contains(ps, "sleep 31") || strings.Contains(ps, "sleep 32") {
			t.Errorf("%s still runs the cancelled command:\n%s", name, ps)
		}
	}
}

// execOutput runs a command in a container and returns its output.
func execOutput(t *testing.T, cli *client.Client, container string, argv ...string) string {
	t.Helper()
	ctx := context.Background()
	created, err := cli.ExecCreate(ctx, container, client.ExecCreateOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	var out strings.Builder
	_, _ = stdcopy.StdCopy(&out, &out, att.Reader)
	return out.String()
}

func TestWaitForStopsWhenCancelled(t *testing.T) {
	cancelAfter(t, "    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: nodesReady, selector: kindlab.test/never=x}\n", "kubeconfig="+testenv.Kubeconfig(t))
}
