package valuescheck_test

import (
	"strings"
	"testing"

	"github.com/kindlab/playbook/internal/testenv"
	"github.com/kindlab/playbook/internal/valuescheck"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

func known(t *testing.T, file string) *valuescheck.Known {
	t.Helper()
	ch, err := loader.Load(testenv.SharedChart(t, file))
	if err != nil {
		t.Fatal(err)
	}
	k, err := valuescheck.FromChart(ch)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func values(t *testing.T, text string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The seed's values, spelled right, for the chart version each mode is written for.
const seedValues113 = `
k8sServiceHost: cilium-kubeproxy-control-plane
k8sServicePort: 6443
debug: {enabled: true, verbose: datapath}
bpf: {monitorAggregation: none, masquerade: true}
ipam: {mode: cluster-pool}
cluster: {name: cilium-kubeproxy}
tunnel: disabled
autoDirectNodeRoutes: true
ipv4NativeRoutingCIDR: 10.0.0.0/8
kubeProxyReplacement: strict
`

const seedValues120 = `
k8sServiceHost: cilium-kubeproxy-control-plane
k8sServicePort: 6443
debug: {enabled: true, verbose: datapath}
bpf: {monitorAggregation: none, masquerade: true}
ipam: {mode: cluster-pool}
cluster: {name: cilium-kubeproxy}
routingMode: native
autoDirectNodeRoutes: true
ipv4NativeRoutingCIDR: 10.0.0.0/8
kubeProxyReplacement: true
podAnnotations: {anything: goes}
`

func TestSeedValuesAreAccepted(t *testing.T) {
	for _, tc := range []struct{ chart, values string }{
		{"cilium-1.13.0-rc5.tgz", seedValues113},
		{"cilium-1.20.0.tgz", seedValues120},
	} {
		t.Run(tc.chart, func(t *testing.T) {
			if problems := known(t, tc.chart).Check(values(t, tc.values)); len(problems) > 0 {
				t.Errorf("correct values rejected: %v", problems)
			}
		})
	}
}

// The seed's own mistakes: the debug keys misspelled, and monitorAggregation at the top
// level where the chart reads it under bpf.
func TestSeedMistakesAreCaught(t *testing.T) {
	const seedAsWritten = `
dubug: {enabled: true, verbose: datapath}
monitorAggregation: none
ipam: {mode: cluster-pool}
`
	want := []string{
		"unknown value dubug; did you mean debug?",
		"unknown value monitorAggregation; did you mean bpf.monitorAggregation?",
	}
	for _, chart := range []string{"cilium-1.13.0-rc5.tgz", "cilium-1.20.0.tgz"} {
		t.Run(chart, func(t *testing.T) {
			problems := known(t, chart).Check(values(t, seedAsWritten))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestMoreMisspellings(t *testing.T) {
	k := known(t, "cilium-1.13.0-rc5.tgz")
	cases := map[string]string{
		"ipam: {mdoe: kubernetes}":    "unknown value ipam.mdoe; did you mean ipam.mode?",
		"autoDirectNodeRoute: true":   "unknown value autoDirectNodeRoute; did you mean autoDirectNodeRoutes?",
		"bpf: {masqurade: true}":      "unknown value bpf.masqurade; did you mean bpf.masquerade?",
		"kubeProxyReplacment: strict": "unknown value kubeProxyReplacment; did you mean kubeProxyReplacement?",
		"totallyUnrelatedSetting: 1":  "unknown value totallyUnrelatedSetting",
	}
	for input, want := range cases {
		problems := k.Check(values(t, input))
		if len(problems) != 1 || problems[0].String() != want {
			t.Errorf("%s: got %v, want %s", input, problems, want)
		}
	}
}
