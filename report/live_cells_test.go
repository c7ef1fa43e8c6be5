package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

// The cells of a job share the live view: a lane of running steps each, in the order the
// cells started; every line names its cell; each cell's failures are summed up when it ends,
// and only its own.
func TestLiveViewHasALanePerCell(t *testing.T) {
	var buf bytes.Buffer
	live := NewLiveReporter(&buf, LiveOptions{Size: func() (int, int) { return 100, 30 }})
	now := time.Now()
	ev := func(cell string, typ engine.EventType, step string, more func(*engine.Event)) {
		e := engine.Event{Time: now, Type: typ, Cell: cell, Playbook: cell, Step: step, ID: step, StepType: "exec", Index: 1, Total: 2}
		if more != nil {
			more(&e)
		}
		live.Handle(e)
	}
	ev("kpr", engine.RunStarted, "", nil)
	ev("kubeproxy", engine.RunStarted, "", nil)
	ev("kubeproxy", engine.StepStarted, "install", nil)
	ev("kpr", engine.StepStarted, "install", nil)
	live.mu.Lock()
	live.redraw()
	screen := buf.String()
	live.mu.Unlock()
	kpr, kubeproxy := strings.LastIndex(screen, "[kpr] "), strings.LastIndex(screen, "[kubeproxy] ")
	if kpr < 0 || kubeproxy < 0 || kpr > kubeproxy {
		t.Errorf("want a lane per cell, kpr's first (it started first):\n%s", screen)
	}
	ev("kpr", engine.StepFinished, "install", func(e *engine.Event) {
		e.Status, e.Error, e.Output = engine.StatusFailed, "exit status 1", []string{"helm said no"}
	})
	ev("kubeproxy", engine.StepFinished, "install", func(e *engine.Event) { e.Status = engine.StatusSucceeded })
	ev("kubeproxy", engine.RunFinished, "", func(e *engine.Event) { e.Status = engine.StatusSucceeded })
	ev("kpr", engine.RunFinished, "", func(e *engine.Event) { e.Status, e.Error = engine.StatusFailed, "step failed" })
	live.Close()
	out := buf.String()
	for _, want := range []string{"[kpr] ✗ install", "[kubeproxy] ✓ install", "[kpr] FAILED step \"install\"", "[kpr]     helm said no",
		"[kubeproxy] playbook kubeproxy succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[kubeproxy] FAILED") {
		t.Errorf("kubeproxy's summary lists kpr's failure:\n%s", out)
	}
}
