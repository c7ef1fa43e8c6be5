package testenv_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kindlab/playbook/internal/testenv"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// The Docker engine is real: a container runs, exec works, exit codes come back.
func TestDockerIsReal(t *testing.T) {
	cli := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := testenv.Sleepers(t, testenv.Name(t, "c"), 1, func(int) map[string]string { return map[string]string{"kindlab.test": "1"} })
	exec, err := cli.ExecCreate(ctx, names[0], client.ExecCreateOptions{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cli.ExecAttach(ctx, exec.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		t.Fatal(err)
	}
	att.Close()
	inspect, err := cli.ExecInspect(ctx, exec.ID, client.ExecInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inspect.ExitCode != 7 || stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("exit %d stdout %q stderr %q", inspect.ExitCode, stdout.String(), stderr.String())
	}
}

// The API server is real: server-side apply records the field manager.
func TestKubeIsReal(t *testing.T) {
	cfg := testenv.Kube(t)
	ns := testenv.Namespace(t, cfg)
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	cm := corev1apply.ConfigMap("probe", ns).WithData(map[string]string{"mode": "kpr"})
	if _, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: "playbook-test"}); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "probe", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["mode"] != "kpr" {
		t.Errorf("data = %v", got.Data)
	}
	var manager string
	for _, mf := range got.ManagedFields {
		if mf.Operation == metav1.ManagedFieldsOperationApply {
			manager = mf.Manager
		}
	}
	if manager != "playbook-test" {
		t.Errorf("managed fields %+v: no apply entry for playbook-test", got.ManagedFields)
	}
}
