package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cellPlaybook is a mode-like playbook: a proof that observes its mode and passes only for
// iptables, a looped proof, and a finally step that leaves a marker.
func cellPlaybook(t *testing.T, dir, name, mode, extra string) string {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	body := "apiVersion: playbook/v1\nkind: Playbook\nname: " + name + "\nvars: {mode: " + mode + "}\nsteps:\n" + extra +
		"  - {name: the mode holds, id: assert-mode, assert: {that: [\"vars.mode == 'iptables'\"], observed: '${{ vars.mode }}'}}\n" +
		"  - {name: each item, id: assert-items, loop: [1, 2], assert: {that: ['item > 0'], observed: 'n${{ item }}'}}\n" +
		"finally:\n  - {name: mark, exec: {argv: [touch, " + filepath.Join(dir, name+".cleaned") + "]}}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var cellTime = regexp.MustCompile(`time="[^"]*"`)

// Three playbooks run as the cells of one job: every line names its cell, the comparison
// table shows each proof's outcome and what it observed, JUnit has a suite per cell, and the
// exit code is the worst cell's.
func TestJobRunsCellsSideBySide(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	a := cellPlaybook(t, dir, "kubeproxy", "iptables", "")
	b := cellPlaybook(t, dir, "kpr", "iptables", "")
	c := cellPlaybook(t, dir, "kpr-ebpf", "BPF", "")
	junit := filepath.Join(dir, "job.xml")
	stdout, stderr, code := runCLI(t, "run", a, b, c, "--jobs", "2", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one cell failed)\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"[kpr-ebpf] ✗ the mode holds", "[kubeproxy] ✓ the mode holds", "[kpr]     observed: iptables"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	table := stdout[strings.Index(stdout, "\nproof "):]
	for _, want := range []string{
		"proof         kubeproxy   kpr         kpr-ebpf",
		"assert-mode   ✓ iptables  ✓ iptables  ✗ BPF",
		"assert-items  ✓ n1, n2    ✓ n1, n2    not run",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no row %q:\n%s", want, table)
		}
	}
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<testsuites>", `<testsuite name="kubeproxy" tests="4" failures="0"`, `<testsuite name="kpr-ebpf" tests="3" failures="1"`,
		`<property name="playbook" value="kpr"></property>`} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("JUnit has no %q:\n%s", want, xml)
		}
	}
	for _, cell := range []string{"kubeproxy", "kpr", "kpr-ebpf"} {
		if _, err := os.Stat(filepath.Join(dir, cell+".cleaned")); err != nil {
			t.Errorf("%s: its finally step did not run", cell)
		}
	}
}

// The report merged from three separate runs' events equals the one job's: the same table,
// the same JUnit suites (but for times).
func TestReportMergeEqualsTheJobsReport(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	paths := []string{cellPlaybook(t, dir, "kubeproxy", "iptables", ""), cellPlaybook(t, dir, "kpr", "iptables", ""), cellPlaybook(t, dir, "kpr-ebpf", "BPF", "")}
	jobXML := filepath.Join(dir, "job.xml")
	jobOut, _, _ := runCLI(t, append([]string{"run", "--junit", jobXML}, paths...)...)
	var events []string
	for _, p := range paths {
		out, _, _ := runCLI(t, "run", p, "-o", "json")
		events = append(events, filepath.Join(dir, filepath.Base(p)+".jsonl"))
		if err := os.WriteFile(events[len(events)-1], []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mergedXML := filepath.Join(dir, "merged.xml")
	mergedOut, stderr, code := runCLI(t, append([]string{"report", "merge", "--junit", mergedXML}, events...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if table := jobOut[strings.Index(jobOut, "\nproof ")+1:]; mergedOut != table {
		t.Errorf("merged table\n%s\nwant the job's\n%s", mergedOut, table)
	}
	jobJUnit, _ := os.ReadFile(jobXML)
	mergedJUnit, _ := os.ReadFile(mergedXML)
	if a, b := cellTime.ReplaceAllString(string(jobJUnit), ""), cellTime.ReplaceAllString(string(mergedJUnit), ""); a != b {
		t.Errorf("merged JUnit\n%s\nwant the job's\n%s", b, a)
	}
	if _, stderr, code := runCLI(t, "report", "merge", paths[0]); code != 2 || !strings.Contains(stderr, "not a playbook event") {
		t.Errorf("merging a playbook file: exit %d, %s", code, stderr)
	}
}

// A wrong playbook among the cells runs nothing (exit 2); --state with several is refused.
func TestJobRunsNothingWhenOneCellIsWrong(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	good := cellPlaybook(t, dir, "good", "iptables", "")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: bad\nsteps:\n  - {name: a, whne: x, log: {message: hi}}\n"), 0o644)
	_, stderr, code := runCLI(t, "run", good, bad)
	if code != 2 || !strings.Contains(stderr, "bad.yaml:5") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "good.cleaned")); err == nil {
		t.Error("the good cell ran although another was wrong")
	}
	if _, stderr, code := runCLI(t, "run", good, good, "--state", filepath.Join(dir, "s.json")); code != 2 || !strings.Contains(stderr, "--state") {
		t.Errorf("--state with two playbooks: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "run", good, "--jobs", "2"); code != 2 || !strings.Contains(stderr, "--jobs") {
		t.Errorf("--jobs with one playbook: exit %d, %s", code, stderr)
	}
}

// Ctrl-C stops every running cell, runs each cell's finally, starts no other cell, and
// exits 130; each cell's events say how it ended.
func TestJobInterruptStopsEveryCell(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	long := "  - {name: long, exec: {argv: [sleep, '60']}}\n"
	paths := []string{cellPlaybook(t, dir, "one", "iptables", long), cellPlaybook(t, dir, "two", "iptables", long), cellPlaybook(t, dir, "three", "iptables", long)}
	cmd := exec.Command(binary, append([]string{"run", "-o", "json", "--jobs", "2"}, paths...)...)
	var out syncBuilder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), `"step-started"`) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("err = %v, want exit 130\n%s", err, out.String())
	}
	ended := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e struct{ Type, Cell, Status string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "run-finished" {
			ended[e.Cell] = e.Status
		}
	}
	for _, cell := range []string{"one", "two", "three"} {
		if ended[cell] != "cancelled" {
			t.Errorf("cell %s ended %q, want cancelled (%v)", cell, ended[cell], ended)
		}
	}
	for _, cell := range []string{"one", "two"} {
		if _, err := os.Stat(filepath.Join(dir, cell+".cleaned")); err != nil {
			t.Errorf("%s: its finally step did not run after Ctrl-C", cell)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "three.cleaned")); err == nil {
		t.Error("a cell started after Ctrl-C")
	}
}

// Each cell keeps its own state: --resume after a failure skips what each cell passed.
func TestJobResumesEachCell(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	count := "  - {name: count, exec: {shell: 'echo x >> " + filepath.Join(dir, "NAME.runs") + "'}}\n"
	a := cellPlaybook(t, dir, "pass", "iptables", strings.ReplaceAll(count, "NAME", "pass"))
	b := cellPlaybook(t, dir, "fail", "BPF", strings.ReplaceAll(count, "NAME", "fail"))
	runCLI(t, "run", a, b)
	if _, _, code := runCLI(t, "run", a, b, "--resume"); code != 1 {
		t.Fatalf("resume: exit %d", code)
	}
	for cell, want := range map[string]int{"pass": 1, "fail": 1} {
		runs, _ := os.ReadFile(filepath.Join(dir, cell+".runs"))
		if got := strings.Count(string(runs), "x"); got != want {
			t.Errorf("%s: its first step ran %d times, want %d (resumed per cell)", cell, got, want)
		}
	}
}

// A matrix file runs its combinations as cells, each named by the vars that tell it apart,
// each with a state file of its own; validate checks every cell.
func TestJobFromAMatrixFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	cellPlaybook(t, dir, "mode", "iptables", "  - {name: reach, id: check-reach, proof: true, exec: {argv: ['true']}}\n"+
		"  - {name: guard, id: vars-guard, proof: false, assert: {that: ['true']}}\n")
	matrix := filepath.Join(dir, "matrix.yaml")
	os.WriteFile(matrix, []byte("apiVersion: playbook/v1\nkind: Matrix\nname: m\nplaybooks: [mode.yaml]\n"+
		"matrix:\n  mode: [iptables, BPF]\n  include: [{playbook: mode.yaml, mode: nftables}]\n"), 0o644)
	if _, stderr, code := runCLI(t, "validate", matrix); code != 0 {
		t.Fatalf("validate: exit %d: %s", code, stderr)
	}
	junit := filepath.Join(dir, "m.xml")
	stdout, stderr, code := runCLI(t, "run", matrix, "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	rows := strings.Join(strings.Fields(stdout[strings.Index(stdout, "\nproof "):]), " ")
	if !strings.Contains(rows, "proof mode mode=iptables mode mode=BPF mode mode=nftables check-reach ✓ ✓ ✓ assert-mode ✓ iptables ✗ BPF ✗ nftables") {
		t.Errorf("the table: %s", rows)
	}
	if strings.Contains(rows, "vars-guard") {
		t.Errorf("an assert with proof: false is a row of the table: %s", rows)
	}
	xml, _ := os.ReadFile(junit)
	if !strings.Contains(string(xml), `<property name="var.mode" value="BPF"></property>`) {
		t.Errorf("JUnit has no cell vars:\n%s", xml)
	}
	states, _ := filepath.Glob(filepath.Join(dir, "state", "playbook", "runs", "mode-*.json"))
	if len(states) != 3 {
		t.Errorf("state files %v, want one per cell", states)
	}
}
