package steps_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
)

func demoChart(t *testing.T) string {
	abs, err := filepath.Abs("testdata/charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func helmStep(id, chart, extra string) string {
	return "  - name: " + id + "\n    id: " + id + "\n    helmInstall:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      release: demo\n      chart: " + chart + "\n" + extra
}

// Install, upgrade, find unchanged and uninstall a chart on the real API server.
func TestHelmInstallUpgradeUnchangedUninstall(t *testing.T) {
	chart := demoChart(t)
	body := "steps:\n" +
		helmStep("install", chart, "      values: {config: {nested: {level: 2}}, extra: {flag: true}}\n") +
		helmStep("same", chart, "      values: {config: {nested: {level: 2}}, extra: {flag: true}}\n") +
		helmStep("upgrade", chart, "      values: {config: {nested: {level: 3}}}\n      set: [greeting=hi, \"annotations.team=lab\"]\n") +
		"  - name: read\n    id: cm\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", kind: ConfigMap, name: demo-settings}\n" +
		"  - name: uninstall\n    id: un\n    helmUninstall: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", release: demo}\n" +
		"  - name: again\n    id: un2\n    helmUninstall: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", release: demo}\n" +
		"  - name: check\n    assert:\n      that:\n" +
		"        - steps.install.outputs.result == 'installed' && steps.install.outputs.revision == 1\n" +
		"        - steps.install.outputs.status == 'deployed' && steps.install.outputs.chartVersion == '0.1.0'\n" +
		"        - steps.same.outputs.result == 'unchanged' && steps.same.outputs.revision == 1\n" +
		"        - steps.upgrade.outputs.result == 'upgraded' && steps.upgrade.outputs.revision == 2\n" +
		"        - steps.upgrade.outputs.values.greeting == 'hi'\n" +
		"        - steps.cm.outputs.object.data.level == '3' && steps.cm.outputs.object.data.greeting == 'hi'\n" +
		"        - steps.cm.outputs.object.metadata.annotations.team == 'lab'\n" +
		"        - steps.un.outputs.uninstalled && !steps.un2.outputs.uninstalled\n"
	if err := kubePlaybook(t, body, nil); err != nil {
		t.Fatal(err)
	}
}

// Misspelled values fail the load, before anything runs, each at its own line with a
// suggestion; a key only a template reads (extra.flag) is fine.
func TestHelmValuesCheckAtLoad(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("config:\n  nested:\n    levl: 2\n"), 0o644)
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: v\nsteps:\n  - name: install\n    helmInstall:\n      release: demo\n      chart: "+demoChart(t)+"\n      valuesFiles: [values.yaml]\n      values:\n        grreting: hi\n        extra: {flag: true}\n      set: [config.nested.mdoe=x]\n"), 0o644)
	_, err := engine.Load(path, engine.LoadOptions{})
	if err == nil {
		t.Fatal("loaded")
	}
	got := strings.ReplaceAll(err.Error(), dir+"/", "")
	want := []string{
		"values.yaml:3:5: unknown value config.nested.levl; did you mean config.nested.level? (the chart does not read it)",
		"pb.yaml:11:9: helmInstall.values.grreting: unknown value grreting; did you mean greeting? (the chart does not read it)",
		"pb.yaml:13:13: helmInstall.set[0]: unknown value config.nested.mdoe; did you mean config.nested.mode? (the chart does not read it)",
	}
	if got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// The seed's misspellings against the real Cilium charts, through the step, at load time.
func TestHelmValuesCheckCiliumSeedMistakes(t *testing.T) {
	for _, chart := range []string{"cilium-1.13.0-rc5.tgz", "cilium-1.20.0.tgz"} {
		t.Run(chart, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pb.yaml")
			os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: v\nsteps:\n  - name: cilium\n    helmInstall:\n      release: cilium\n      namespace: kube-system\n      chart: "+testenv.SharedChart(t, chart)+
				"\n      set: [dubug.enabled=true, dubug.verbose=datapath, monitorAggregation=none, ipam.mode=cluster-pool]\n"), 0o644)
			_, err := engine.Load(path, engine.LoadOptions{})
			if err == nil {
				t.Fatal("the seed's misspelled keys were accepted")
			}
			for _, want := range []string{
				":10:13: helmInstall.set[0]: unknown value dubug; did you mean debug.enabled?",
				":10:33: helmInstall.set[1]: unknown value dubug; did you mean debug.verbose?",
				":10:57: helmInstall.set[2]: unknown value monitorAggregation; did you mean bpf.monitorAggregation?",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("missing %q in\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "ipam") {
				t.Errorf("a correct key was rejected: %v", err)
			}
		})
	}
}

func TestHelmStrictValuesOffWarns(t *testing.T) {
	body := "steps:\n" + helmStep("install", demoChart(t), "      strictValues: false\n      values: {grreting: hi}\n") +
		"  - name: check\n    assert: {that: [\"steps.install.outputs.result == 'installed'\"]}\n"
	if err := kubePlaybook(t, body, nil); err != nil {
		t.Fatal(err)
	}
}

// plan --render renders client-side for the Kubernetes version given, never helm's default.
func TestHelmPlanRender(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	write := func(kubeVersion string) {
		os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: v\nsteps:\n  - name: install\n    helmInstall: {release: demo, chart: "+demoChart(t)+", values: {greeting: planned}"+kubeVersion+"}\n"), 0o644)
	}
	write(", kubeVersion: v1.31.0")
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := pb.Describe(engine.WithRender(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	detail := steps[0].Detail.(map[string]any)
	if len(steps[0].Rendered) != 1 || !strings.Contains(steps[0].Rendered[0].YAML, `greeting: "planned"`) || detail["kubeVersion"] != "v1.31.0" {
		t.Errorf("plan detail: %v, rendered %v", detail, steps[0].Rendered)
	}
	write("")
	pb, _ = engine.Load(path, engine.LoadOptions{})
	if _, err := pb.Describe(engine.WithRender(context.Background())); err == nil || !strings.Contains(err.Error(), "set kubeVersion") {
		t.Errorf("render without a version: %v", err)
	}
	write(", kubeVersion: v1.20.0")
	pb, _ = engine.Load(path, engine.LoadOptions{})
	if _, err := pb.Describe(engine.WithRender(context.Background())); err == nil || !strings.Contains(err.Error(), "kubeVersion") {
		t.Errorf("render for a version the chart refuses: %v", err)
	}
}

// plan --render asks the cluster its version with a short timeout of its own: a server that
// accepts connections and never answers does not hold plan up.
func TestHelmPlanDoesNotHangOnASilentCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // hold it open, say nothing
		}
	}()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://"+ln.Addr().String()+"', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"), 0o600)
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: v\nsteps:\n  - name: install\n    helmInstall: {release: demo, chart: "+demoChart(t)+", kubeconfig: "+kubeconfig+"}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = pb.Describe(engine.WithRender(context.Background()))
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("plan waited %s for a cluster that never answers", took)
	}
	if err == nil || !strings.Contains(err.Error(), "set kubeVersion") {
		t.Errorf("err = %v", err)
	}
}
