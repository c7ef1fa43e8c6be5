package playbooks_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/job"
	"github.com/kindlab/playbook/report"
)

// The three modes' recorded clusters as the cells of one job: the comparison table shows each
// proof in each mode, with what it observed, as the lab's live clusters showed them.
func TestModesSideBySideOnRecordedClusters(t *testing.T) {
	var cells []job.Cell
	for _, mode := range modes {
		pb, err := engine.Load(mode+".yaml", engine.LoadOptions{VarsFiles: []string{labVars}, Vars: []string{"cluster=" + seedCluster[mode]}})
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, job.Cell{Name: mode, Plan: pb, Replay: recorded(t, mode)})
	}
	comparison := report.NewComparison(modes...)
	errs := job.Run(context.Background(), cells, job.Options{Jobs: 3, Run: engine.RunOptions{StartAt: "cilium-config"},
		Reporters: []engine.Reporter{comparison}, CellReporters: func(string) []engine.Reporter { return nil }})
	if err := job.Worst(errs); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	comparison.Write(&table)
	t.Logf("\n%s", table.String())
	rows := strings.Join(strings.Fields(strings.ReplaceAll(table.String(), "\n", " | ")), " ")
	for _, want := range []string{
		"assert-status ✓ kube-proxy replacement false, masquerading iptables ✓ kube-proxy replacement true, masquerading iptables ✓ kube-proxy replacement true, masquerading BPF |",
		"assert-host-routing ✓ host routing Legacy ✓ host routing Legacy ✓ host routing BPF |",
		"assert-kube-proxy ✓ kube-proxy ✓ no kube-proxy ✓ no kube-proxy |",
		"assert-path-clusterip ✓ conntrack SVC +1 ✓ conntrack SVC +0 ✓ conntrack SVC +0 |",
		"assert-path-masquerade ✓ iptables rule +1 ✓ iptables rule +1 ✓ BPF NAT map |",
		"assert-path-routing ✓ CILIUM_FORWARD +94 packets ✓ CILIUM_FORWARD +58 packets ✓ CILIUM_FORWARD +0 packets |",
	} {
		if !strings.Contains(rows, want) {
			t.Errorf("no row %q", want)
		}
	}
}
