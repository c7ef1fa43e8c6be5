// Package bench holds the Go benchmarks behind bench/RESULTS.md; bench/run.sh runs them with
// the whole-process comparisons against ansible-playbook, go-task and kubectl.
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	_ "github.com/kindlab/playbook/steps"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
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
	cli := testenv.Docker(b)
	image := testenv.Image(b, cli)
	group := testenv.Name(b, "fan")
	for i := range n {
		created, err := cli.ContainerCreate(context.Background(), client.ContainerCreateOptions{Name: fmt.Sprintf("%s-%d", group, i), Image: image,
			Config: &container.Config{Cmd: []string{"sleep", "3600"}, Labels: map[string]string{"kindlab.bench": group}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
		})
		if _, err := cli.ContainerStart(context.Background(), created.ID, client.ContainerStartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	pb := loadPlaybook(b, "steps:\n  - name: fan out\n    dockerExec: {selector: kindlab.bench="+group+", argv: [sleep, '1']}\n")
	b.ResetTimer()
	for b.Loop() {
		if _, err := pb.Run(context.Background(), engine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}

// BenchmarkExecHugeLine runs the playbook binary on one exec step that prints 100 MB on a
// single line, and reports its wall time and peak RSS (the child's, from rusage). Targets:
// under 2 s and under 150 MB; output is bounded and the line splitter never rescans.
func BenchmarkExecHugeLine(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "playbook")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/playbook").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	pbPath := filepath.Join(dir, "huge.yaml")
	body := "apiVersion: playbook/v1\nkind: Playbook\nname: huge\nsteps:\n  - name: one huge line\n    id: huge\n    exec: {shell: \"head -c 100000000 /dev/zero | tr '\\\\0' x\"}\n  - name: its size\n    log: {message: \"kept ${{ len(steps.huge.outputs.stdout) }} bytes\"}\n"
	if err := os.WriteFile(pbPath, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	var maxRSS int64
	for b.Loop() {
		cmd := exec.Command(bin, "run", pbPath, "--state", filepath.Join(dir, "state.json"))
		cmd.Env = append(os.Environ(), "CI=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss) // kilobytes on Linux
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(maxRSS)/1024, "MB-peak-RSS")
}
