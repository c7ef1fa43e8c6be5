package playbooks_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	_ "github.com/kindlab/playbook/steps"
	"go.yaml.in/yaml/v3"
)

var modes = []string{"kubeproxy", "kpr", "kpr-ebpf"}

func load(t *testing.T, mode string, vars ...string) *engine.Plan {
	t.Helper()
	pb, err := engine.Load(mode+".yaml", engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

func TestPlaybooksLoadWithTheirDefaults(t *testing.T) {
	for _, name := range append([]string{"base"}, modes...) {
		pb := load(t, name)
		if pb.Vars["nodeImage"] != "kindest/node:v1.23.4" || pb.Vars["ciliumVersion"] != "1.13.0-rc5" || pb.Vars["workers"] != 2 {
			t.Errorf("%s: defaults differ from the seed: %v", name, pb.Vars)
		}
	}
	seedNames := map[string]string{"kubeproxy": "cilium-kubeproxy", "kpr": "cilium-kubeproxy-replacement", "kpr-ebpf": "cilium-kubeproxy-replacement-ebpf"}
	for mode, cluster := range seedNames {
		if got := load(t, mode).Vars["cluster"]; got != cluster {
			t.Errorf("%s: cluster %v, the seed used %s", mode, got, cluster)
		}
	}
}

// `--only verdict` runs no check, so it must not say the mode holds: a check that did not run
// proves nothing (it passed before, because unselected steps counted as skipped).
func TestVerdictFailsWhenNoCheckRan(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, mode := range modes {
		res, err := load(t, mode).Run(context.Background(), engine.RunOptions{Only: []string{"verdict"}})
		var stepErr *engine.StepError
		if !errors.As(err, &stepErr) || res.Steps[stepErr.Step] != engine.StatusFailed {
			t.Fatalf("%s --only verdict: %v, want the verdict to fail", mode, err)
		}
		for _, want := range []string{mode + ": the cluster is not proven", "assert-config not-run", "assert-nodeport not-run", "--start-at cilium-config"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s --only verdict: %q does not say %q", mode, err, want)
			}
		}
	}
}

// --start-at and --only use these ids, README's mode table and docs/lab.md name the proofs by
// them, and the verdict reads them: they are part of the playbooks' interface.
func TestStepIDsAreStable(t *testing.T) {
	want := []string{"create-cluster", "untaint", "install-cilium", "node-tools", "demo", "wait-cilium", "cilium-config"}
	proofs := []string{"assert-evidence", "assert-config", "assert-status", "assert-host-routing", "assert-kube-proxy", "assert-iptables", "assert-lb", "assert-pod-ping", "assert-nodeport",
		"assert-connectivity", "assert-path-clusterip", "assert-path-service", "assert-path-masquerade", "assert-path-routing"}
	want = append(append(want, proofs...), "verdict")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range proofs {
		if !strings.Contains(string(readme), "`"+id+"`") {
			t.Errorf("README.md does not name the proof %s", id)
		}
	}
	for _, mode := range modes {
		pb := load(t, mode)
		var ids []string
		for _, s := range pb.Steps {
			ids = append(ids, s.ID)
		}
		// The verdict fails the run on exactly these proofs.
		if got := pb.Vars["proofs"]; !reflect.DeepEqual(got, toAny(proofs)) {
			t.Errorf("%s: vars.proofs = %v, want %v", mode, got, proofs)
		}
		joined := "," + strings.Join(ids, ",") + ","
		last := -1
		for _, id := range want {
			i := strings.Index(joined, ","+id+",")
			if i < 0 || i < last {
				t.Errorf("%s: step %s missing or out of order in %v", mode, id, ids)
			}
			last = i
		}
		if len(pb.Finally) != 1 || pb.Finally[0].When == nil || pb.Finally[0].When.Source != "vars.cleanup" {
			t.Errorf("%s: cleanup must run only with --var cleanup=true", mode)
		}
	}
}

// renderedConfig renders the Cilium chart from ../shared/charts with the playbook's own values
// (what `playbook plan --render --var ciliumChart=...` does) and returns cilium-config.
func renderedConfig(t *testing.T, mode, chart string, vars ...string) map[string]any {
	t.Helper()
	pb := load(t, mode, append([]string{"ciliumChart=" + testenv.SharedChart(t, chart)}, vars...)...)
	steps, err := pb.Describe(engine.WithRender(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.ID != "install-cilium" {
			continue
		}
		for _, o := range s.Rendered {
			if o.Kind != "ConfigMap" || o.Name != "cilium-config" {
				continue
			}
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(o.YAML), &doc); err != nil {
				t.Fatal(err)
			}
			return doc["data"].(map[string]any)
		}
	}
	t.Fatal("no cilium-config in the rendered chart")
	return nil
}

// The ConfigMap keys that tell the modes apart, per chart version (../shared/notes/cilium-modes.md).
func TestRenderedChartDistinguishesTheModes(t *testing.T) {
	type want map[string]any // nil value: the key must be absent
	cases := []struct {
		chart string
		vars  []string
		modes map[string]want
	}{
		{"cilium-1.13.0-rc5.tgz", nil, map[string]want{
			"kubeproxy": {"kube-proxy-replacement": "disabled", "enable-bpf-masquerade": nil, "tunnel": "disabled"},
			"kpr":       {"kube-proxy-replacement": "strict", "kube-proxy-replacement-healthz-bind-address": "", "enable-bpf-masquerade": nil, "tunnel": "disabled"},
			"kpr-ebpf":  {"kube-proxy-replacement": "strict", "enable-bpf-masquerade": "true", "tunnel": "disabled"},
		}},
		{"cilium-1.20.0.tgz", []string{"ciliumVersion=1.20.0", "nodeImage=kindest/node:v1.34.0"}, map[string]want{
			"kubeproxy": {"kube-proxy-replacement": "false", "enable-bpf-masquerade": nil, "routing-mode": "native", "tunnel": nil},
			"kpr":       {"kube-proxy-replacement": "true", "enable-bpf-masquerade": nil, "routing-mode": "native", "tunnel": nil},
			"kpr-ebpf":  {"kube-proxy-replacement": "true", "enable-bpf-masquerade": "true", "routing-mode": "native", "cluster-name": "cilium-kubeproxy-replacement-ebp"},
		}},
	}
	common := map[string]any{"auto-direct-node-routes": "true", "ipv4-native-routing-cidr": "10.0.0.0/8", "ipam": "cluster-pool",
		"enable-ipv4-masquerade": "true", "debug": "true", "debug-verbose": "datapath", "monitor-aggregation": "none"}
	for _, tc := range cases {
		for mode, expect := range tc.modes {
			t.Run(tc.chart+"/"+mode, func(t *testing.T) {
				data := renderedConfig(t, mode, tc.chart, tc.vars...)
				for k, v := range common {
					if data[k] != v {
						t.Errorf("%s = %v, want %v", k, data[k], v)
					}
				}
				for k, v := range expect {
					got, present := data[k]
					if v == nil && present {
						t.Errorf("%s = %v, want it absent", k, got)
					}
					if v != nil && got != v {
						t.Errorf("%s = %v, want %v", k, got, v)
					}
				}
			})
		}
	}
}

// The seed's own --set keys, given to the playbook, are refused before anything runs.
func TestSeedValuesAreRefusedAtLoad(t *testing.T) {
	_, err := engine.Load("kpr.yaml", engine.LoadOptions{Vars: []string{
		"ciliumChart=" + testenv.SharedChart(t, "cilium-1.13.0-rc5.tgz"),
		`ciliumValues={"dubug": {"enabled": true, "verbose": "datapath"}, "monitorAggregation": "none", "ipam": {"mode": "cluster-pool"}}`,
	}})
	if err == nil {
		t.Fatal("the seed's misspelled values loaded")
	}
	for _, want := range []string{"base.yaml:", "unknown value dubug; did you mean debug?", "unknown value monitorAggregation; did you mean bpf.monitorAggregation?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestPlaybooksE2E runs the three playbooks for real. It needs Docker and internet (node
// images, the Cilium chart and images), which CI here has not:
//
//	PLAYBOOK_E2E=1 go test ./playbooks -run E2E -v -timeout 60m
func TestPlaybooksE2E(t *testing.T) {
	if os.Getenv("PLAYBOOK_E2E") == "" {
		t.Skip("set PLAYBOOK_E2E=1 on a machine with Docker and internet (CI here cannot pull images; see README)")
	}
	testenv.Docker(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			pb := load(t, mode, "cleanup=true", "recreate=true")
			if err := testenv.Run(t, pb); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
