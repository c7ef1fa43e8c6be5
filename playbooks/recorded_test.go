package playbooks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// readSteps are the steps whose outputs the checks read; recorded from live clusters.
var readSteps = []string{"agents", "agent-ds", "cilium-config", "cilium-status", "kernels", "kube-proxy", "iptables", "services",
	"demo-service", "demo-host-pods", "demo-pods", "assert-pod-ping", "assert-nodeport", "outside", "path-before", "probe-clusterip", "path-clusterip", "probe-pod", "probe-machine", "path-after", "bpf-nat"}

func recordedPath(mode string) string { return filepath.Join("testdata", "lab", mode) }

// recordOutputs keeps what a live cluster said: the read steps' outputs for replay, and the
// agent status, load-balancer table and nat tables as files a person can read.
func recordOutputs(t *testing.T, mode string, r labRun) {
	t.Helper()
	dir := recordedPath(mode)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]any{}
	for _, id := range readSteps {
		e, ok := r.finished(id)
		if !ok || e.Outputs == nil {
			t.Fatalf("no outputs of %s to record", id)
		}
		outputs[id] = trimObjects(e.Outputs)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := json.MarshalIndent(outputs, "", "  ")
	write("outputs.json", append(data, '\n'))
	status := outputs["cilium-status"].(map[string]any)
	for _, p := range status["pods"].([]any) {
		pod := p.(map[string]any)
		write("status-"+pod["node"].(string)+".json", []byte(pod["stdout"].(string)+"\n"))
	}
	for _, read := range []struct{ step, file string }{{"services", "services-"}, {"iptables", "iptables-nat-"}} {
		for _, p := range outputs[read.step].(map[string]any)["pods"].([]any) {
			pod := p.(map[string]any)
			write(read.file+pod["node"].(string)+".txt", []byte(pod["stdout"].(string)+"\n"))
		}
	}
}

// trimObjects keeps of each Kubernetes object what the checks read (its name and namespace,
// a pod's node and addresses, a ConfigMap's data): the rest is long, and names the images a
// node pulled, with their registries.
func trimObjects(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if meta, ok := x["metadata"].(map[string]any); ok {
			return trimObject(x, meta)
		}
		out := map[string]any{}
		for k, item := range x {
			out[k] = trimObjects(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = trimObjects(item)
		}
		return out
	}
	return v
}

func trimObject(obj, meta map[string]any) map[string]any {
	out := map[string]any{"metadata": pick(meta, "name", "namespace")}
	for _, k := range []string{"apiVersion", "kind", "data"} {
		if v, ok := obj[k]; ok {
			out[k] = v
		}
	}
	if spec, ok := obj["spec"].(map[string]any); ok {
		out["spec"] = pick(spec, "nodeName", "clusterIP")
	}
	if status, ok := obj["status"].(map[string]any); ok {
		out["status"] = pick(status, "podIP", "hostIP", "phase", "desiredNumberScheduled")
	}
	return out
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func recorded(t *testing.T, mode string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recordedPath(mode), "outputs.json"))
	if err != nil {
		t.Fatalf("%v (record with PLAYBOOK_UPDATE_TESTDATA=1 in TestCiliumLab)", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChecksOnRecordedClusters runs every mode's checks on what each mode's live cluster said
// (testdata/lab, recorded by TestCiliumLab), with no cluster: each mode passes on its own, and
// the other two fail at the checks that tell the modes apart, as on the live clusters.
func TestChecksOnRecordedClusters(t *testing.T) {
	for _, cluster := range modes {
		outputs := recorded(t, cluster)
		for _, checks := range modes {
			t.Run(checks+" checks on "+cluster, func(t *testing.T) {
				pb, err := engine.Load(checks+".yaml", engine.LoadOptions{VarsFiles: []string{labVars},
					Vars: []string{"cluster=" + seedCluster[cluster]}})
				if err != nil {
					t.Fatal(err)
				}
				var r labRun
				_, r.err = pb.Run(context.Background(), engine.RunOptions{StartAt: "cilium-config", Replay: outputs,
					Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) { r.events = append(r.events, e) })}})
				if checks == cluster {
					if r.err != nil {
						t.Fatalf("%s's own checks fail on what its cluster said: %v", checks, r.err)
					}
					return
				}
				assertFailedAt(t, r, distinguishing(checks, cluster), checks)
				if t.Failed() {
					t.Log(strings.TrimSpace(r.err.Error()))
				}
			})
		}
	}
}

// Recordings tampered as a broken cluster or a broken read would leave them: each must fail
// at the proof that reads what is missing, never pass for lack of evidence.
func TestChecksFailOnMissingEvidence(t *testing.T) {
	step := func(o map[string]any, id string) map[string]any { return o[id].(map[string]any) }
	pods := func(o map[string]any, id string) []any { return step(o, id)["pods"].([]any) }
	cases := []struct {
		name   string
		tamper func(o map[string]any)
		want   []string
		modes  []string // where it applies; all when empty
	}{
		{"counters that did not move", func(o map[string]any) {
			o["path-after"] = o["path-before"]
		}, []string{"assert-path-service", "assert-path-masquerade", "assert-path-routing", "verdict"}, []string{"kubeproxy", "kpr"}},
		{"counters that did not move", func(o map[string]any) {
			o["path-after"] = o["path-before"]
		}, []string{"assert-path-service", "verdict"}, []string{"kpr-ebpf"}},
		{"a ClusterIP probe that left no trace in conntrack", func(o map[string]any) {
			o["path-clusterip"] = o["path-before"]
		}, []string{"assert-path-clusterip", "verdict"}, []string{"kubeproxy"}},
		{"maps that were not read", func(o map[string]any) {
			for _, p := range pods(o, "path-after") {
				var kept []string
				for _, l := range strings.Split(p.(map[string]any)["stdout"].(string), "\n") {
					if !strings.HasPrefix(l, "ct ") && !strings.HasPrefix(l, "lb ") {
						kept = append(kept, l)
					}
				}
				p.(map[string]any)["stdout"] = strings.Join(kept, "\n")
			}
		}, []string{"assert-path-service", "verdict"}, nil},
		{"the machine saw the pod's own address: no masquerading", func(o map[string]any) {
			first := o["probe-pod"].([]any)[0].(map[string]any)
			var out []string
			for _, l := range strings.Split(first["stdout"].(string), "\n") {
				if f := strings.Split(l, "|"); strings.HasSuffix(f[0], "-> the machine outside") {
					f[4] = "10.0.0.99"
					l = strings.Join(f, "|")
				}
				out = append(out, l)
			}
			first["stdout"] = strings.Join(out, "\n")
		}, []string{"assert-path-masquerade", "verdict"}, nil},
		{"a NAT map without the client's translation", func(o map[string]any) {
			for _, p := range pods(o, "bpf-nat") {
				p.(map[string]any)["stdout"] = ""
			}
		}, []string{"assert-path-masquerade", "verdict"}, []string{"kpr-ebpf"}},
		{"counters read on one agent only", func(o map[string]any) {
			step(o, "path-after")["pods"] = pods(o, "path-after")[:1]
		}, []string{"assert-evidence", "verdict"}, nil},
		{"a probe nobody answered", func(o map[string]any) {
			first := o["probe-pod"].([]any)[0].(map[string]any)
			first["stdout"] = strings.Replace(first["stdout"].(string), "|ok|", "|fail|", 1)
		}, []string{"assert-connectivity", "verdict"}, nil},
		{"probes that did not run", func(o map[string]any) {
			step(o, "probe-machine")["stdout"] = ""
		}, []string{"assert-connectivity", "verdict"}, nil},
		{"a nat table that reads as empty", func(o map[string]any) {
			pods(o, "iptables")[1].(map[string]any)["stdout"] = ""
		}, []string{"assert-iptables", "verdict"}, nil},
		{"an agent whose status was not read", func(o map[string]any) {
			step(o, "cilium-status")["pods"] = pods(o, "cilium-status")[1:]
		}, []string{"assert-evidence", "assert-status", "verdict"}, nil},
		{"an agent that is not Running", func(o map[string]any) {
			agent := step(o, "agents")["items"].([]any)[2].(map[string]any)
			agent["status"].(map[string]any)["phase"] = "Pending"
		}, []string{"assert-status", "verdict"}, nil},
		{"a DaemonSet that wants an agent more than there are", func(o map[string]any) {
			ds := step(o, "agent-ds")["object"].(map[string]any)
			ds["status"].(map[string]any)["desiredNumberScheduled"] = 4.0
		}, []string{"assert-evidence", "verdict"}, nil},
		{"a kube-proxy list that was not read", func(o map[string]any) {
			delete(step(o, "kube-proxy"), "items")
		}, []string{"assert-evidence", "assert-kube-proxy", "verdict"}, nil},
		{"no agents at all", func(o map[string]any) {
			step(o, "agents")["items"] = []any{}
			for _, id := range []string{"cilium-status", "kernels", "iptables", "services", "path-before", "path-clusterip", "path-after", "bpf-nat"} {
				step(o, id)["pods"] = []any{}
			}
		}, []string{"assert-evidence", "verdict"}, nil},
	}
	for _, mode := range modes {
		for _, tc := range cases {
			if len(tc.modes) > 0 && !slices.Contains(tc.modes, mode) {
				continue
			}
			t.Run(mode+": "+tc.name, func(t *testing.T) {
				outputs := recorded(t, mode)
				tc.tamper(outputs)
				pb, err := engine.Load(mode+".yaml", engine.LoadOptions{VarsFiles: []string{labVars}, Vars: []string{"cluster=" + seedCluster[mode]}})
				if err != nil {
					t.Fatal(err)
				}
				var r labRun
				_, r.err = pb.Run(context.Background(), engine.RunOptions{StartAt: "cilium-config", Replay: outputs,
					Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) { r.events = append(r.events, e) })}})
				assertFailedAt(t, r, tc.want, mode)
			})
		}
	}
}
