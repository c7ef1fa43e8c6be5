package engine_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/report"
)

const reportPlaybook = header + "steps:\n  - {name: ok, id: ok, echo: {stdout: hello}}\n  - {name: skip, when: 'false', say: {message: x}}\n  - {name: bad, echo: {stderr: broken, exitCode: 2}}\n  - {name: after, say: {message: y}}\n"

func TestJSONReporterParsesBack(t *testing.T) {
	var buf bytes.Buffer
	pb := mustLoad(t, reportPlaybook)
	_, _ = pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{report.NewJSONReporter(&buf)}})
	var types []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var e engine.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types = append(types, string(e.Type)+":"+e.Step+":"+string(e.Status)+":"+e.Line)
	}
	want := []string{"run-started:::", "step-started:ok::", "output:ok::hello", "step-finished:ok:succeeded:",
		"step-started:skip::", "step-finished:skip:skipped:", "step-started:bad::", "output:bad::broken",
		"step-finished:bad:failed:", "step-finished:after:not-run:", "run-finished::failed:"}
	if strings.Join(types, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s", strings.Join(types, "\n"))
	}
}

func TestJUnitReporterParsesBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	j := report.NewJUnitReporter(path)
	pb := mustLoad(t, reportPlaybook)
	_, _ = pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{j}})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	if suite.Tests != 4 || suite.Failures != 1 || suite.Skipped != 2 || len(suite.Cases) != 4 {
		t.Fatalf("suite: %+v", suite)
	}
	f := suite.Cases[2].Failure
	if f == nil || !strings.Contains(f.Message, "exited with code 2: broken") || f.Body != "broken" {
		t.Errorf("failure: %+v", f)
	}
}

func TestTextReporterShowsFailureWithOutput(t *testing.T) {
	var buf bytes.Buffer
	pb := mustLoad(t, reportPlaybook)
	_, _ = pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{report.NewTextReporter(&buf, false)}})
	out := buf.String()
	for _, want := range []string{"[1/4] ok (echo)", "    hello", "✓ ok", "- skip skipped: when: false", "✗ bad failed after",
		"FAILED step \"bad\": exited with code 2: broken", "- after not run: step \"bad\" failed", "  last 1 lines of output:\n    broken", "playbook t failed after"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes in a plain report")
	}
}

func TestLiveReporterRedrawsAndEndsClean(t *testing.T) {
	var buf syncBuffer
	live := report.NewLiveReporter(&buf, report.LiveOptions{Color: true, Size: func() (int, int) { return 60, 24 }})
	pb := mustLoad(t, header+"steps:\n  - {name: slow, probe: {key: live, sleep: 300ms}}\n")
	_, _ = pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{live}})
	live.Close()
	out := buf.String()
	if !strings.Contains(out, "slow (probe)") {
		t.Errorf("the running step was never drawn: %q", out)
	}
	// What a terminal shows at the end: the finished step and the summary, no spinner rows
	// left over and nothing drawn twice.
	var screen []string
	for _, line := range terminalScreen(out) {
		if strings.TrimSpace(line) != "" {
			screen = append(screen, line)
		}
	}
	if len(screen) != 2 || !strings.HasPrefix(screen[0], "✓ slow") || !strings.HasPrefix(screen[1], "playbook t succeeded") {
		t.Errorf("the screen at the end:\n%s\n(raw %q)", strings.Join(screen, "\n"), out)
	}
}

// terminalScreen plays what a reporter wrote on a terminal that knows the few sequences the
// live view uses (cursor up, clear line, colours, cursor visibility) and returns its lines.
func terminalScreen(out string) []string {
	lines := []string{""}
	row, col := 0, 0
	put := func(r rune) {
		line := []rune(lines[row])
		for len(line) < col {
			line = append(line, ' ')
		}
		if col < len(line) {
			line[col] = r
		} else {
			line = append(line, r)
		}
		lines[row] = string(line)
		col++
	}
	runes := []rune(out)
	for i := 0; i < len(runes); i++ {
		switch r := runes[i]; {
		case r == '\x1b' && i+1 < len(runes) && runes[i+1] == '[':
			j := i + 2
			for j < len(runes) && (runes[j] < '@' || runes[j] > '~') {
				j++
			}
			if j >= len(runes) {
				return lines
			}
			arg := string(runes[i+2 : j])
			switch runes[j] {
			case 'A':
				n := 1
				fmt.Sscan(arg, &n)
				row = max(0, row-n)
			case 'K':
				if arg == "2" {
					lines[row] = ""
				} else {
					lines[row] = string([]rune(lines[row])[:min(col, len([]rune(lines[row])))])
				}
			case 'J':
				lines = lines[:row+1]
				lines[row] = ""
			}
			i = j
		case r == '\r':
			col = 0
		case r == '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		default:
			put(r)
		}
	}
	return lines
}

// A parallel loop shows how many items are done of how many, and the latest line of each
// item that is running, not only of one.
func TestLiveReporterShowsEveryRunningItem(t *testing.T) {
	resetProbes()
	var buf syncBuffer
	live := report.NewLiveReporter(&buf, report.LiveOptions{Size: func() (int, int) { return 80, 24 }})
	pb := mustLoad(t, header+"steps:\n  - name: fan out\n    loop: [a, b, c]\n    parallel: 3\n    probe: {key: \"item-${{ item }}\", sleep: 400ms}\n")
	_, _ = pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{live}})
	live.Close()
	out := buf.String()
	for _, want := range []string{"0/3", "probe item-a attempt 1", "probe item-b attempt 1", "probe item-c attempt 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the live view never showed %q:\n%q", want, out)
		}
	}
}
