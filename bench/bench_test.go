// Package bench holds the Go benchmarks behind bench/RESULTS.md; bench/run.sh runs them with
// the whole-process comparisons against ansible-playbook, go-task and kubectl.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	_ "github.com/kindlab/playbook/steps"
)

func loadPlaybook(b *testing.B, body string, vars ...string) *engine.Plan {
	b.Helper()
	path := filepath.Join(b.TempDir(), "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: bench\n"+body), 0o644); err != nil {
		b.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		b.Fatal(err)
	}
	return pb
}

// Manifests300 is 100 ConfigMaps, 100 headless Services (the test server's service range is
// small) and 100 Deployments, as one multi-document YAML.
func Manifests300() string {
	var docs []string
	for i := range 100 {
		docs = append(docs,
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {key: value-%d}\n", i, i),
			fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d}\nspec: {clusterIP: None, selector: {app: app-%d}, ports: [{port: 80}]}\n", i, i),
			fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-%d}\nspec:\n  selector: {matchLabels: {app: app-%d}}\n  template:\n    metadata: {labels: {app: app-%d}}\n    spec: {containers: [{name: c, image: busybox:1.36}]}\n", i, i, i))
	}
	return strings.Join(docs, "---\n")
}

// BenchmarkApply300 applies 300 objects into a fresh namespace, then again (unchanged).
func BenchmarkApply300(b *testing.B) {
	kubeconfig := testenv.Kubeconfig(b)
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(Manifests300()), 0o644)
	body := "vars: {kubeconfig: '', ns: ''}\nsteps:\n  - name: apply\n    kubectlApply: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", files: [" + dir + "/objects.yaml]}\n"
	var fresh, again time.Duration
	for b.Loop() {
		ns := testenv.Namespace(b, testenv.Kube(b))
		pb := loadPlaybook(b, body, "kubeconfig="+kubeconfig, "ns="+ns)
		start := time.Now()
		if _, err := pb.Run(context.Background(), engine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		fresh += time.Since(start)
		start = time.Now()
		if _, err := pb.Run(context.Background(), engine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		again += time.Since(start)
	}
	b.ReportMetric(float64(fresh.Milliseconds())/float64(b.N), "ms-fresh")
	b.ReportMetric(float64(again.Milliseconds())/float64(b.N), "ms-reapply")
}

// BenchmarkFanOut runs a one-second command with dockerExec in one container and in six;
// the ratio of the two is what fan-out costs.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 6} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) { fanOut(b, n) })
	}
}

func fanOut(b *testing.B, n int) {
	group := startSleepers(b, n)
	pb := loadPlaybook(b, "steps:\n  - name: fan out\n    dockerExec: {selector: kindlab.bench="+group+", argv: [sleep, '1']}\n")
	b.ResetTimer()
	for b.Loop() {
		if _, err := pb.Run(context.Background(), engine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}

// BenchmarkCancelStop cancels a step half a second into a command that would run for a
// minute, and reports how long the step took to stop after the cancel: for exec, the kill of
// its process group; for dockerExec, also the kill of the command inside two containers.
func BenchmarkCancelStop(b *testing.B) {
	b.Run("exec", func(b *testing.B) {
		cancelStop(b, "steps:\n  - name: long\n    exec: {shell: 'trap \"\" TERM; sleep 60 & wait'}\n")
	})
	b.Run("dockerExec", func(b *testing.B) {
		group := startSleepers(b, 2)
		cancelStop(b, "steps:\n  - name: long\n    dockerExec: {selector: kindlab.bench="+group+", shell: 'sleep 61 & sleep 62'}\n")
	})
}

func cancelStop(b *testing.B, body string) {
	pb := loadPlaybook(b, body)
	var stopping time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan time.Time, 1)
		time.AfterFunc(500*time.Millisecond, func() { cancelled <- time.Now(); cancel() })
		if _, err := pb.Run(ctx, engine.RunOptions{}); err == nil {
			b.Fatal("the cancelled run succeeded")
		}
		stopping += time.Since(<-cancelled)
	}
	b.ReportMetric(float64(stopping.Milliseconds())/float64(b.N), "ms-to-stop")
}

// startSleepers starts n containers that sleep, labelled with a group of the benchmark's own.
func startSleepers(b *testing.B, n int) (group string) {
	group = testenv.Name(b, "stop")
	testenv.Sleepers(b, group, n, func(int) map[string]string { return map[string]string{"kindlab.bench": group} })
	return group
}
