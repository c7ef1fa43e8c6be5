package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clipperhouse/displaywidth"
	"github.com/kindlab/playbook/internal/testenv"
	"go.yaml.in/yaml/v3"
)

type junitSuite struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Cases    []struct {
		Name  string `xml:"name,attr"`
		Error *struct {
			Message string `xml:"message,attr"`
			Body    string `xml:",chardata"`
		} `xml:"error"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
	} `xml:"testcase"`
}

func readJUnit(t *testing.T, path string) junitSuite {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return s
}

// A run that could not start says so where it is looked for: a JUnit file with one error
// testcase (replacing the last run's, which would read as a pass), and with --output json a
// run-finished event with each diagnostic's place, instead of text on stderr.
func TestARunThatCouldNotStart(t *testing.T) {
	invalid := writePlaybook(t, "steps:\n  - {name: a, whne: x, log: {message: hi}}\n")
	secret := writePlaybook(t, "secrets:\n  token: {env: PB_CLI_UNSET}\nsteps:\n  - {name: a, log: {message: hi}}\n")
	for _, tc := range []struct{ name, pb, want string }{
		{"invalid playbook", invalid, `unknown key "whne" in step`},
		{"missing secret", secret, `secret "token" has no value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			junit := filepath.Join(t.TempDir(), "junit.xml")
			os.WriteFile(junit, []byte(`<testsuite name="stale" tests="1" failures="0"><testcase name="green"/></testsuite>`), 0o644)
			stdout, stderr, code := runCLI(t, "run", tc.pb, "-o", "json", "--junit", junit)
			if code != 2 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("with --output json, stderr should be empty: %q", stderr)
			}
			var ev struct {
				Type        string `json:"type"`
				Status      string `json:"status"`
				Diagnostics []struct {
					File    string `json:"file"`
					Line    int    `json:"line"`
					Column  int    `json:"column"`
					Message string `json:"message"`
				} `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &ev); err != nil {
				t.Fatalf("%v: %q", err, stdout)
			}
			if ev.Type != "run-finished" || ev.Status != "failed" || len(ev.Diagnostics) != 1 || !strings.Contains(ev.Diagnostics[0].Message, tc.want) {
				t.Errorf("event: %+v", ev)
			}
			if tc.name == "invalid playbook" && (ev.Diagnostics[0].Line != 5 || ev.Diagnostics[0].Column != 15 || ev.Diagnostics[0].File != tc.pb) {
				t.Errorf("diagnostic place: %+v", ev.Diagnostics[0])
			}
			suite := readJUnit(t, junit)
			if suite.Tests != 1 || suite.Errors != 1 || suite.Cases[0].Error == nil || !strings.Contains(suite.Cases[0].Error.Body+suite.Cases[0].Error.Message, tc.want) {
				t.Errorf("junit: %+v", suite)
			}
		})
	}
}

// Steps not reached after a failure are skipped testcases and not-run events; a finished
// step's event carries its outputs.
func TestReportsCoverEveryStep(t *testing.T) {
	pb := writePlaybook(t, "steps:\n  - {name: ok, id: ok, exec: {argv: [echo, hello]}}\n  - {name: bad, exec: {argv: [\"false\"]}}\n  - {name: later, log: {message: x}}\n")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	stdout, _, code := runCLI(t, "run", pb, "-o", "json", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var notRun, outputs bool
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e["type"] == "step-finished" && e["step"] == "later" && e["status"] == "not-run" {
			notRun = true
		}
		if e["type"] == "step-finished" && e["id"] == "ok" {
			o, _ := e["outputs"].(map[string]any)
			outputs = o["stdout"] == "hello"
		}
	}
	if !notRun || !outputs {
		t.Errorf("not-run event %v, outputs in step-finished %v:\n%s", notRun, outputs, stdout)
	}
	suite := readJUnit(t, junit)
	last := suite.Cases[len(suite.Cases)-1]
	if suite.Tests != 3 || suite.Skipped != 1 || last.Name != "later" || last.Skipped == nil || !strings.Contains(last.Skipped.Message, "not run") {
		t.Errorf("junit: %+v", suite)
	}
}

// plan --render prints the chart's objects as a YAML stream, one plain document per object,
// in install order; --render-dir writes one file per object.
func TestPlanRenderIsAYAMLStream(t *testing.T) {
	for _, chart := range []string{"cilium-1.13.0-rc5.tgz", "cilium-1.20.0.tgz"} {
		t.Run(chart, func(t *testing.T) {
			path := testenv.SharedChart(t, chart)
			vars := []string{"--var", "ciliumChart=" + path}
			if strings.Contains(chart, "1.20") {
				vars = append(vars, "--var", "ciliumVersion=1.20.0", "--var", "nodeImage=kindest/node:v1.34.0")
			}
			dir := t.TempDir()
			stdout, stderr, code := runCLI(t, append([]string{"plan", "../../playbooks/kpr.yaml", "--render", "--render-dir", dir}, vars...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			dec := yaml.NewDecoder(strings.NewReader(stdout))
			docs, configMap := 0, false
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() != "EOF" {
						t.Fatalf("the output is not a YAML stream: %v", err)
					}
					break
				}
				docs++
				if doc["kind"] == "ConfigMap" && doc["metadata"].(map[string]any)["name"] == "cilium-config" {
					configMap = true
				}
			}
			if docs < 10 || !configMap {
				t.Errorf("%d documents, cilium-config found: %v", docs, configMap)
			}
			if !strings.Contains(stdout, "\nkind: ConfigMap\n") || !strings.Contains(stdout, "\n  name: cilium-config\n") {
				t.Error("kind: ConfigMap and name: cilium-config are not plain lines")
			}
			files, _ := filepath.Glob(filepath.Join(dir, "install-cilium", "*-configmap-cilium-config.yaml"))
			all, _ := filepath.Glob(filepath.Join(dir, "install-cilium", "*.yaml"))
			if len(files) != 1 || len(all) != docs-1 {
				t.Errorf("--render-dir: %d files for %d objects, cilium-config %v", len(all), docs-1, files)
			}
		})
	}
}

// Shell completion offers the playbook's step ids after --only and --start-at, and its var
// names after --var.
func TestCompletion(t *testing.T) {
	pb := writePlaybook(t, "vars: {cluster: x, workers: 2}\nsteps:\n  - {name: create it, id: create, log: {message: a}}\n  - {name: check it, id: check, log: {message: b}}\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "run", pb, "--start-at", ""}, []string{"create\tcreate it", "check\tcheck it"}},
		{[]string{"__complete", "run", pb, "--only", "c"}, []string{"create\tcreate it", "check\tcheck it"}},
		{[]string{"__complete", "run", pb, "--var", ""}, []string{"cluster=", "workers="}},
	} {
		stdout, _, _ := runCLI(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(stdout, w+"\n") {
				t.Errorf("%v: %q missing in\n%s", tc.args, w, stdout)
			}
		}
	}
}

// The live view in a real terminal (tmux) at 80 and 120 columns: wide characters do not break
// its line accounting, so no spinner line is left behind; log messages always show; -v shows
// every output line.
func TestLiveViewInTmux(t *testing.T) {
	tmux := testenv.Program(t, "tmux")
	pb := writePlaybook(t, "steps:\n"+
		"  - name: wide\n    exec: {shell: 'for i in 1 2 3 4 5 6; do for j in $(seq 100); do printf \"日本\"; done; printf \" 🚀\\n\"; sleep 0.2; done'}\n"+
		"  - name: items\n    loop: [a, b, c]\n    parallel: 3\n    exec: {shell: 'echo working on ${{ item }}; sleep 0.5'}\n"+
		"  - name: say\n    log: {message: hello from a log step}\n")
	for _, width := range []int{80, 120} {
		for _, verbose := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d columns, verbose %v", width, verbose), func(t *testing.T) {
				args := binary + " run " + pb + " --state " + filepath.Join(t.TempDir(), "s.json")
				if verbose {
					args += " -v"
				}
				screen := tmuxRun(t, tmux, width, args)
				for i, line := range strings.Split(screen, "\n") {
					// Scrolled output may wrap (-v prints it whole); the live area never may.
					if w := displaywidth.String(line); w > width && !verbose {
						t.Errorf("line %d is %d cells wide: %q", i, w, line)
					}
					if r, _ := utf8.DecodeRuneInString(line); strings.ContainsRune(strings.Join(spinnerFrames, ""), r) {
						t.Errorf("a spinner line was left on screen: %q", line)
					}
				}
				for _, want := range []string{"hello from a log step", "✓ wide", "✓ items", "playbook cli succeeded"} {
					if !strings.Contains(screen, want) {
						t.Errorf("screen lacks %q:\n%s", want, screen)
					}
				}
				if verbose != strings.Contains(screen, "working on b") {
					t.Errorf("verbose %v, but item output shown: %v:\n%s", verbose, !verbose, screen)
				}
			})
		}
	}
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// tmuxRun runs a command line in a detached tmux session of the given width and returns the
// whole screen (with its scrollback) once the command is done.
//
// Each run has a tmux server of its own on a private socket: on the shared default socket, a
// new session can reach the server that the previous run's kill-session is shutting down, and
// tmux fails with "server exited unexpectedly".
func tmuxRun(t *testing.T, tmux string, width int, command string) string {
	t.Helper()
	socketDir, err := os.MkdirTemp("", "tmux") // short: a socket path has ~100 bytes at most
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(socketDir) })
	socket := filepath.Join(socketDir, "s")
	done := filepath.Join(t.TempDir(), "done")
	shell := "env -u CI TERM=xterm-256color " + command + "; touch " + done + "; sleep 30"
	cmd := exec.Command(tmux, "-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", "pbtest", "-x", fmt.Sprint(width), "-y", "30", shell)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer exec.Command(tmux, "-S", socket, "kill-server").Run()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(done); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := exec.Command(tmux, "-S", socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "pbtest").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(out), "\n")
}
