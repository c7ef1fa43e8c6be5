package steps_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	_ "github.com/kindlab/playbook/steps"
)

func loadRun(t *testing.T, body string, vars ...string) (map[string]engine.Event, []string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]engine.Event{}
	var lines []string
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		switch e.Type {
		case engine.StepFinished:
			finished[e.Step] = e
		case engine.StepOutput:
			lines = append(lines, e.Line)
		}
	})}})
	return finished, lines, err
}

// hostileValue has what a shell would act on: quotes of both kinds, a command substitution of
// each kind, a variable, a backslash, a glob and a newline. Running it would create pwned.
func hostileValue(pwned string) string {
	return "it's \"quoted\"; touch " + pwned + " $(touch " + pwned + ") `touch " + pwned + "` $HOME \\ * \nsecond line"
}

// A hostile value stays one piece of data wherever it lands: argv never sees a shell, and in
// shell: each ${{ }} is escaped for its context (a word, inside double quotes, inside a
// here-document), as html/template escapes by context.
func TestHostileValuesStayData(t *testing.T) {
	cases := []struct{ name, step, want string }{
		{"argv", "exec: {argv: [printf, '[%s]', \"${{ vars.v }}\"]}", "[V]"},
		{"shell, unquoted", "exec: {shell: \"printf '[%s]' ${{ vars.v }}\"}", "[V]"},
		{"shell, in double quotes", "exec: {shell: \"printf '%s' \\\"[${{ vars.v }}]\\\"\"}", "[V]"},
		{"shell, in a here-document", "exec: {shell: \"cat <<EOF\\n[${{ vars.v }}]\\nEOF\"}", "[V]"},
		{"shell, in $( ) inside double quotes", "exec: {shell: \"printf '%s' \\\"[$(printf '%s' ${{ vars.v }})]\\\"\"}", "[V]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pwned := filepath.Join(t.TempDir(), "pwned")
			hostile := hostileValue(pwned)
			_, lines, err := loadRun(t, "vars: {v: ''}\nsteps:\n  - name: a\n    "+tc.step+"\n", "v="+hostile)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(lines, "\n"), strings.ReplaceAll(tc.want, "V", hostile); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("the hostile value was executed")
			}
		})
	}
}

// The two cases a user met: a path with a space in double quotes, and a greeting.
func TestShellQuotingInDoubleQuotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my dir")
	_, lines, err := loadRun(t, "vars: {dir: '', name: world}\nsteps:\n  - name: a\n    exec: {shell: 'mkdir -p \"${{ vars.dir }}\" && cd \"${{ vars.dir }}\" && pwd && echo \"hello ${{ vars.name }}\"'}\n", "dir="+dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, "|"); got != dir+"|hello world" {
		t.Errorf("got %q", got)
	}
}

func TestExecOutputsAndOptions(t *testing.T) {
	dir := t.TempDir()
	body := "steps:\n" +
		"  - {name: codes, id: codes, exec: {shell: 'echo out; echo err >&2; exit 3', okExitCodes: [3]}}\n" +
		"  - {name: stdin, id: stdin, exec: {argv: [cat], stdin: fed}}\n" +
		"  - {name: env, id: env, exec: {argv: [sh, -c, 'echo $PB_X'], env: {PB_X: set}}}\n" +
		"  - {name: dir, id: dir, exec: {argv: [pwd], dir: " + dir + "}}\n" +
		"  - name: check\n    assert:\n      that:\n" +
		"        - steps.codes.outputs.exitCode == 3\n        - steps.codes.outputs.stdout == 'out'\n        - steps.codes.outputs.stderr == 'err'\n" +
		"        - steps.stdin.outputs.stdout == 'fed'\n        - steps.env.outputs.stdout == 'set'\n        - steps.dir.outputs.stdout == '" + dir + "'\n"
	if _, _, err := loadRun(t, body); err != nil {
		t.Fatal(err)
	}
}

func TestExecFailures(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{argv: [sh, -c, 'exit 5']}", "sh exited with code 5"},
		{"{argv: [/no/such/program]}", "fork/exec /no/such/program: no such file or directory"},
	}
	for _, tc := range cases {
		_, _, err := loadRun(t, "steps:\n  - name: a\n    exec: "+tc.body+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.want)
		}
	}
}

// A cancelled exec stops its whole process group: the shell, and what it started, even when
// that ignores SIGTERM. How fast is BenchmarkCancelStop's business; here the bound is only
// that the step did not wait for its command.
func TestExecCancelStopsItsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n  - name: a\n    exec: {shell: 'trap \"\" TERM; sleep 30 & echo $! > "+pidFile+"; wait'}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err = pb.Run(ctx, engine.RunOptions{})
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("stopping took %s: the step waited for its command", took)
	}
	if err == nil {
		t.Error("no error after cancellation")
	}
	if pid := readPid(t, pidFile); processAlive(pid) {
		t.Errorf("process %d of the cancelled step is still running", pid)
	}
}

// A step is done when its shell exits, even if what it started in the background holds its
// stdout; that keeps running until the run ends, and is stopped then.
func TestExecBackgroundProcessLivesUntilTheRunEnds(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	body := "steps:\n" +
		"  - {name: start, exec: {shell: 'sleep 30 & echo $! > " + pidFile + "; echo started'}}\n" +
		"  - {name: nohup, exec: {shell: 'nohup sleep 30 >/dev/null 2>&1 & echo $! >> " + pidFile + "'}}\n" +
		"  - {name: still there, exec: {shell: 'for p in $(cat " + pidFile + "); do kill -0 $p; done'}}\n"
	start := time.Now()
	finished, lines, err := loadRun(t, body)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run took %s: a step waited for its background process", took)
	}
	if e := finished["start"]; e.Status != engine.StatusSucceeded || !slices.Contains(lines, "started") {
		t.Errorf("start: %+v %v", e, lines)
	}
	for _, pid := range readPids(t, pidFile) {
		if processAlive(pid) {
			t.Errorf("process %d outlived the run", pid)
		}
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	pids := readPids(t, path)
	if len(pids) == 0 {
		t.Fatalf("no pid in %s", path)
	}
	return pids[0]
}

func readPids(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// processAlive reports whether pid runs (a zombie waiting for its parent counts as gone).
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

// A retried failure is said once per attempt: in the retry line, not again as output.
func TestRetriedFailureIsSaidOnce(t *testing.T) {
	_, lines, err := loadRun(t, "vars: {n: 1}\nsteps:\n  - {name: check, retry: {attempts: 2, delay: 10ms}, assert: {that: [\"vars.n == 2\"]}}\n")
	if err == nil || !strings.Contains(err.Error(), "after 2 attempts: false: vars.n == 2 where vars.n = 1") {
		t.Fatalf("err = %v", err)
	}
	if len(lines) != 0 {
		t.Errorf("the failure was also printed as output: %q", lines)
	}
}

// What a command prints is captured whole however slowly the reports are read: the drain
// waits for the end of the output, not a fixed time, and nothing is said to be left running
// in the background when nothing is.
func TestExecCapturesEverythingBehindASlowReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n  - {name: count, id: count, exec: {argv: [seq, 1, '20000']}}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lines, logs []string
	var stdout string
	slow := engine.ReporterFunc(func(e engine.Event) {
		switch {
		case e.Type == engine.StepOutput && e.Stream == "stdout":
			lines = append(lines, e.Line)
			time.Sleep(50 * time.Microsecond) // a reader that keeps up with less than the command
		case e.Type == engine.StepOutput:
			logs = append(logs, e.Line)
		case e.Type == engine.StepFinished:
			stdout, _ = e.Outputs.(map[string]any)["stdout"].(string)
		}
	})
	if _, err := pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{slow}}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout, "\n") + 1; n != 20000 || !strings.HasSuffix(stdout, "\n20000") {
		t.Errorf("captured %d lines, want 20000 (ends %q)", n, stdout[max(0, len(stdout)-20):])
	}
	if len(lines) != 20000 {
		t.Errorf("shown %d lines, want 20000", len(lines))
	}
	for _, l := range logs {
		if strings.Contains(l, "background") {
			t.Errorf("said %q with nothing left running", l)
		}
	}
}

// A working directory that is not there is named as such, not blamed on the program.
func TestExecNamesAMissingDir(t *testing.T) {
	_, _, err := loadRun(t, "steps:\n  - {name: a, exec: {argv: [\"true\"], dir: nowhere}}\n")
	if err == nil || !strings.Contains(err.Error(), "exec.dir: the working directory") || !strings.Contains(err.Error(), "nowhere is not there") || strings.Contains(err.Error(), "fork/exec") {
		t.Fatalf("got %v", err)
	}
}
