package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kindlab/playbook/internal/testenv"
)

var binary string

// TestMain builds the real binary once: exit codes and signals are properties of the process.
// Runs keep their state, and kind its records, under a directory of the test's own, never in
// the real home.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "playbook-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "playbook")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	restore := testenv.IsolateHome()
	code := m.Run()
	restore()
	os.RemoveAll(dir)
	os.Exit(code)
}

func writePlaybook(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: cli\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CI=true") // t.Setenv values are in os.Environ() too
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestExitCodes(t *testing.T) {
	ok := writePlaybook(t, "steps:\n  - {name: a, log: {message: hi}}\n")
	failing := writePlaybook(t, "steps:\n  - {name: a, exec: {argv: [\"false\"]}}\n")
	invalid := writePlaybook(t, "steps:\n  - {name: a, whne: x, log: {message: hi}}\n")
	cases := []struct {
		name string
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{"success", []string{"run", ok}, 0, "playbook cli succeeded"},
		{"step failed", []string{"run", failing}, 1, `FAILED step "a": false exited with code 1`},
		{"invalid playbook", []string{"run", invalid}, 2, `pb.yaml:5:15: unknown key "whne" in step`},
		{"validate ok prints nothing", []string{"validate", ok}, 0, ""},
		{"validate invalid", []string{"validate", ok, invalid}, 2, `did you mean "when"?`},
		{"missing file", []string{"validate", "/nonexistent.yaml"}, 2, "/nonexistent.yaml: file /nonexistent.yaml does not exist"},
		{"unknown command", []string{"rnu", ok}, 2, `unknown command "rnu"`},
		{"help lists exit codes", []string{"run", "--help"}, 0, "130  interrupted"},
		{"help names the environment", []string{"plan", "--help"}, 0, "NO_COLOR"},
		{"unknown flag", []string{"run", ok, "--bogus"}, 2, "unknown flag: --bogus"},
		{"bad --only", []string{"run", ok, "--only", "nope"}, 2, "--only nope: no step has that id"},
		{"bad --output", []string{"run", ok, "--output", "xml"}, 2, "--output must be text or json"},
		{"steps lists plugins", []string{"steps"}, 0, "exec"},
		{"steps shows one", []string{"steps", "exec"}, 0, "okExitCodes"},
		{"steps unknown", []string{"steps", "exce"}, 2, `did you mean "exec"?`},
		{"version", []string{"version"}, 0, "playbook "},
		{"plan", []string{"plan", ok, "-o", "json"}, 0, `"type": "log"`},
		{"completion", []string{"completion", "bash"}, 0, "bash completion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.out) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.out, stdout, stderr)
			}
			if tc.name == "validate ok prints nothing" && stdout+stderr != "" {
				t.Errorf("validate printed %q", stdout+stderr)
			}
		})
	}
}

func TestInvalidPlaybookRunsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	pb := writePlaybook(t, "steps:\n  - {name: a, exec: {argv: [touch, "+marker+"]}}\n  - {name: b, log: {mesage: x}}\n")
	if _, _, code := runCLI(t, "run", pb); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a step ran although the playbook was invalid")
	}
}

// SIGINT stops the running step, runs finally, and exits 130.
func TestInterruptExits130AfterFinally(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cleaned")
	pb := writePlaybook(t, "steps:\n  - {name: long, exec: {argv: [sleep, '60']}}\nfinally:\n  - {name: cleanup, exec: {argv: [touch, "+marker+"]}}\n")
	cmd := exec.Command(binary, "run", pb, "-o", "json")
	var out syncBuilder // read here while the process writes it
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"step-started"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("err = %v, want exit 130\n%s", err, out.String())
	}
	// Half the step's sleep: this checks that Ctrl-C does not wait for the step; how fast it
	// stops is BenchmarkCancelStop's business.
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %s to stop: Ctrl-C waited for the step", took)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("finally step did not run after SIGINT")
	}
	if !strings.Contains(out.String(), `"status":"cancelled"`) {
		t.Errorf("no cancelled status in %s", out.String())
	}
	if !strings.Contains(out.String(), `"error":"interrupted"`) || strings.Contains(out.String(), "context canceled") {
		t.Errorf("the interrupted step does not say interrupted:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `press Ctrl-C again to stop the cleanup`) {
		t.Errorf("no notice of what a second Ctrl-C does:\n%s", out.String())
	}
}

func TestJUnitFlagWritesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	pb := writePlaybook(t, "steps:\n  - {name: a, log: {message: hi}}\n")
	if _, _, code := runCLI(t, "run", pb, "--junit", path); code != 0 {
		t.Fatalf("exit %d", code)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), `<testcase name="a"`) {
		t.Errorf("junit: %s %v", data, err)
	}
}

// A failed run resumed with --resume skips what succeeded; the state file is where the README
// says (XDG_STATE_HOME).
func TestResumeFlag(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	count, ok := filepath.Join(dir, "count"), filepath.Join(dir, "ok")
	pb := writePlaybook(t, "steps:\n  - {name: a, id: a, exec: {shell: 'echo run >> "+count+"'}}\n  - {name: b, id: b, exec: {argv: [test, -f, "+ok+"]}}\n")
	if _, _, code := runCLI(t, "run", pb); code != 1 {
		t.Fatalf("first run exit %d", code)
	}
	states, _ := filepath.Glob(filepath.Join(dir, "playbook", "runs", "cli-*.json")) // named after the playbook
	if len(states) != 1 {
		t.Fatalf("state files: %v", states)
	}
	os.WriteFile(ok, nil, 0o644)
	stdout, _, code := runCLI(t, "run", pb, "--resume")
	if code != 0 || !strings.Contains(stdout, "- a skipped: succeeded in the previous run with the same inputs") {
		t.Fatalf("resume exit %d:\n%s", code, stdout)
	}
	if runs, _ := os.ReadFile(count); strings.Count(string(runs), "run") != 1 {
		t.Errorf("a ran %d times", strings.Count(string(runs), "run"))
	}
}

// syncBuilder is a strings.Builder that one goroutine writes while another reads.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCLI starts playbook with CI set and its output read here while it writes it.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, *syncBuilder) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CI=true")
	out := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// waitForText waits until the output holds text, or gives up after 10 seconds (the
// assertions after it then say what was missing).
func waitForText(out *syncBuilder, text string) {
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), text) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// A second Ctrl-C stops the cleanup too, and the run says so instead of "(finally steps ran)".
func TestSecondInterruptStopsTheCleanup(t *testing.T) {
	pb := writePlaybook(t, "steps:\n  - {name: long, exec: {argv: [sleep, '60']}}\nfinally:\n  - {name: slow cleanup, exec: {argv: [sleep, '60']}}\n  - {name: later cleanup, log: {message: never}}\n")
	cmd, out := startCLI(t, "run", pb)
	waitForText(out, "long (exec)")
	_ = cmd.Process.Signal(syscall.SIGINT)
	waitForText(out, "finally: slow cleanup (exec)")
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("err = %v, want exit 130\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "(finally steps ran)") || !strings.Contains(text, "finally steps were stopped by a second interrupt") {
		t.Errorf("the summary does not say the cleanup was stopped:\n%s", text)
	}
	if !strings.Contains(text, "later cleanup") || strings.Contains(text, "never") {
		t.Errorf("the cleanup step after the stopped one is not reported as not run:\n%s", text)
	}
}

// Ctrl-C while the finally steps run after the main steps passed: the cleanup goes on, the
// notice says so (not "stopping the current step"), and the run exits 130, not 0.
func TestInterruptDuringFinallyAfterSuccessExits130(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cleaned")
	release := filepath.Join(t.TempDir(), "release")
	pb := writePlaybook(t, "steps:\n  - {name: quick, log: {message: done}}\nfinally:\n"+
		"  - {name: cleanup, exec: {shell: 'while [ ! -e "+release+" ]; do sleep 0.05; done; touch "+marker+"'}}\n")
	cmd, out := startCLI(t, "run", pb)
	waitForText(out, "finally: cleanup (exec)")
	_ = cmd.Process.Signal(syscall.SIGINT)
	waitForText(out, "interrupted during the finally steps")
	os.WriteFile(release, nil, 0o644)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("err = %v, want exit 130\n%s", err, out.String())
	}
	text := out.String()
	if !strings.Contains(text, "interrupted during the finally steps: the cleanup goes on") || strings.Contains(text, "stopping the current step") {
		t.Errorf("the notice does not say what is stopped:\n%s", text)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the cleanup did not finish:\n%s", text)
	}
}

// A state that cannot be kept is said before anything runs (exit 2); one that cannot be
// saved later fails the run, and its summary says why: no step failed.
func TestUnwritableStateIsSaid(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a-file"), nil, 0o644)
	pb := writePlaybook(t, "steps:\n  - {name: a, log: {message: hi}}\n")
	stdout, stderr, code := runCLI(t, "run", pb, "--state", filepath.Join(dir, "a-file", "state.json"))
	if code != 2 || !strings.Contains(stdout+stderr, "the run state cannot be kept at") || strings.Contains(stdout, "hi") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
	os.Mkdir(filepath.Join(dir, "state.json"), 0o755) // the lock works, the save cannot
	stdout, stderr, code = runCLI(t, "run", pb, "--state", filepath.Join(dir, "state.json"))
	if code != 1 || !strings.Contains(stdout+stderr, "failed after") || !strings.Contains(stdout+stderr, "saving the run state") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
}

// Two runs of one playbook at once would share its state file (and, for the Cilium
// playbooks, one cluster): the second stops at once, exit 2, naming the run that holds it and
// how to run beside it. A lock left by a killed run is taken over.
func TestSecondRunOnOneStateStops(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	release := filepath.Join(dir, "release")
	pb := writePlaybook(t, "steps:\n  - {name: wait, exec: {shell: 'while [ ! -e "+release+" ]; do sleep 0.05; done'}}\n")
	first, out := startCLI(t, "run", pb, "--state", state)
	waitForText(out, "wait (exec)")
	stdout, stderr, code := runCLI(t, "run", pb, "--state", state)
	os.WriteFile(release, nil, 0o644)
	if err := first.Wait(); err != nil {
		t.Fatalf("the first run: %v\n%s", err, out.String())
	}
	want := fmt.Sprintf("is in use by the run with pid %d, since", first.Process.Pid)
	if code != 2 || !strings.Contains(stderr+stdout, want) || !strings.Contains(stderr+stdout, "--state OTHER-FILE") {
		t.Fatalf("second run: exit %d, want 2 and %q:\n%s%s", code, want, stdout, stderr)
	}
	// The lock of a run that was killed: its file is there, no process holds it.
	killed := exec.Command(binary, "run", pb, "--state", state)
	os.Remove(release)
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if held, _ := os.ReadFile(state + ".lock"); strings.Contains(string(held), fmt.Sprint(killed.Process.Pid)) {
			break
		}
	}
	_ = killed.Process.Kill()
	_ = killed.Wait()
	os.WriteFile(release, nil, 0o644)
	if stdout, stderr, code := runCLI(t, "run", pb, "--state", state); code != 0 {
		t.Fatalf("after a killed run: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A command's help lists the exit codes it can return: validate never runs a step.
func TestHelpListsOnlyTheExitCodesACommandReturns(t *testing.T) {
	validate, _, _ := runCLI(t, "validate", "--help")
	run, _, _ := runCLI(t, "run", "--help")
	if strings.Contains(validate, "130") || strings.Contains(validate, "a step failed") || !strings.Contains(validate, "2    invalid playbook") {
		t.Errorf("validate --help:\n%s", validate)
	}
	if !strings.Contains(run, "130  interrupted") || !strings.Contains(run, "1    a step failed") {
		t.Errorf("run --help:\n%s", run)
	}
}
