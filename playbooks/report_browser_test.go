package playbooks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/browser"
	"github.com/kindlab/playbook/job"
	"github.com/kindlab/playbook/report"
)

// The HTML report of the three modes' recorded clusters, plus kpr's checks on the kube-proxy
// cluster (a wrong mode), in a real headless Chromium: it loads with no console message and
// no request but its own file, the comparison table has a column per cell and the right
// entries, and the wrong cell's failed proof is open, with its expression and values in view.
// PLAYBOOK_UPDATE_SCREENSHOT=1 writes docs/report.png, which the README shows.
func TestHTMLReportInABrowser(t *testing.T) {
	type cellSpec struct{ name, checks, cluster string }
	specs := []cellSpec{{"kubeproxy", "kubeproxy", "kubeproxy"}, {"kpr", "kpr", "kpr"}, {"kpr-ebpf", "kpr-ebpf", "kpr-ebpf"},
		{"kpr checks on kubeproxy", "kpr", "kubeproxy"}}
	var cells []job.Cell
	var names []string
	for _, s := range specs {
		pb, err := engine.Load(s.checks+".yaml", engine.LoadOptions{VarsFiles: []string{labVars}, Vars: []string{"cluster=" + seedCluster[s.cluster]}})
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, job.Cell{Name: s.name, Plan: pb, Replay: recorded(t, s.cluster)})
		names = append(names, s.name)
	}
	page := filepath.Join(t.TempDir(), "modes.html")
	html := report.NewHTMLReporter(page, names...)
	job.Run(t.Context(), cells, job.Options{Jobs: 2, Run: engine.RunOptions{StartAt: "cilium-config"},
		Reporters: []engine.Reporter{html}, CellReporters: func(string) []engine.Reporter { return nil }})
	if err := html.Close(); err != nil {
		t.Fatal(err)
	}

	p := browser.Open(t, page)
	if requests := p.Requests(); len(requests) != 1 || requests[0] != "file://"+page {
		t.Errorf("the page made requests besides its own file: %q", requests)
	}
	if msgs := p.Console(); len(msgs) > 0 {
		t.Errorf("console messages: %q", msgs)
	}
	headers, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("table.comparison thead th")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]string{"proof"}, names...); strings.Join(headers, "|") != strings.Join(want, "|") {
		t.Errorf("table columns %q, want %q", headers, want)
	}
	status, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("table.comparison tr")].find(r => r.querySelector("th").textContent == "assert-status").querySelectorAll("td").values().map(e => e.className + " " + e.textContent).toArray()`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"succeeded ✓ kube-proxy replacement false, masquerading iptables", "succeeded ✓ kube-proxy replacement true, masquerading iptables",
		"succeeded ✓ kube-proxy replacement true, masquerading BPF", "failed ✗ kube-proxy replacement false, masquerading iptables"}
	if strings.Join(status, "|") != strings.Join(want, "|") {
		t.Errorf("assert-status row %q, want %q", status, want)
	}
	// The wrong cell's failed proof: its details are open and its evidence is on screen.
	evidence, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](
		`(() => { const d = [...document.querySelectorAll("details.failed")].find(d => d.querySelector("summary").textContent.includes("(assert-status)"));
		  if (!d || !d.open) return "closed"; const pre = d.querySelector("pre.error"); const r = pre.getBoundingClientRect();
		  return r.width > 0 && r.height > 0 ? pre.textContent : "invisible"; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(evidence, "vars.expectKPR") || !strings.Contains(evidence, `"False"`) {
		t.Errorf("the failed proof's evidence on the page: %q", evidence)
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	if os.Getenv("PLAYBOOK_UPDATE_SCREENSHOT") == "1" {
		shot = filepath.Join("..", "docs", "report.png")
	}
	p.Screenshot(t, shot)
}
