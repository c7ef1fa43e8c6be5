package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The benchmarks here run the playbook binary as a user does, and report the process's wall
// time and peak RSS (the child's, from rusage: what `/usr/bin/time -f %M` shows).

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// playbookBinary builds the CLI once per test process.
func playbookBinary(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "playbook-bench")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "playbook")
		if out, err := exec.Command("go", "build", "-o", binary, "../cmd/playbook").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binary
}

// runBinary runs the binary b.N times and reports seconds per run and the peak RSS in MB.
func runBinary(b *testing.B, args ...string) {
	b.Helper()
	bin := playbookBinary(b)
	var maxRSS int64
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, args...)
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

// BenchmarkStartup is `playbook validate playbooks/kpr-ebpf.yaml`: start the process, load
// the playbook and its base, check and compile every expression. Target: under 50 ms.
func BenchmarkStartup(b *testing.B) {
	b.Run("version", func(b *testing.B) { runBinary(b, "version") })
	b.Run("validate kpr-ebpf", func(b *testing.B) { runBinary(b, "validate", "../playbooks/kpr-ebpf.yaml") })
}

// BenchmarkValidateScale validates playbooks of 1,000 to 50,000 steps, each reading the
// previous step's outputs and a var. Target: 10,000 steps in under 1 s and 150 MB, and time
// and memory that grow linearly.
func BenchmarkValidateScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "scale.yaml")
			if err := os.WriteFile(path, []byte(chainedAsserts(n)), 0o644); err != nil {
				b.Fatal(err)
			}
			runBinary(b, "validate", path)
		})
	}
}

// chainedAsserts is n assert steps, each reading the outputs of the one before it.
func chainedAsserts(n int) string {
	var s strings.Builder
	s.WriteString("apiVersion: playbook/v1\nkind: Playbook\nname: scale\nvars: {cluster: demo}\nsteps:\n")
	s.WriteString("  - {name: step 0, id: s0, assert: {that: [\"vars.cluster == 'demo'\"]}}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&s, "  - {name: step %d, id: s%d, assert: {that: [\"steps.s%d.outputs.checked == 1 && vars.cluster == 'demo'\"]}}\n", i, i, i-1)
	}
	return s.String()
}

// BenchmarkExecHugeLine runs one exec step that prints 100 MB on a single line. Targets:
// under 2 s and under 150 MB; output is bounded and the line splitter never rescans.
func BenchmarkExecHugeLine(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "huge.yaml")
	body := "apiVersion: playbook/v1\nkind: Playbook\nname: huge\nsteps:\n  - name: one huge line\n    id: huge\n    exec: {shell: \"head -c 100000000 /dev/zero | tr '\\\\0' x\"}\n  - name: its size\n    log: {message: \"kept ${{ len(steps.huge.outputs.stdout) }} bytes\"}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	runBinary(b, "run", path, "--state", filepath.Join(dir, "state.json"))
}
